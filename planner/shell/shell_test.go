package shell

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/interp"
)

// runOurs runs src with the interpreter, adjusted as the planner adjusts
// plans, and returns what it printed.
func runOurs(t *testing.T, src string) string {
	t.Helper()
	f, err := Parse("snippet.sh", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	assoc := AssocNames(f, "pkg_exports")
	FixAssoc(f, []byte(src), assoc)
	Compat(f, []byte(src), assoc, "__t_")
	funcs := CompatFuncs()
	var out bytes.Buffer
	r, err := interp.New(
		interp.Env(NewEnv("PATH=/usr/bin:/bin")),
		interp.StdIO(nil, &out, &out),
		interp.CallHandler(func(ctx context.Context, args []string) ([]string, error) { return CompatCall(args), nil }),
		interp.ExecHandlers(Middleware(func(name string) Func { return funcs[name] })),
	)
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Run(context.Background(), f)
	return out.String()
}

// TestCompatMatchesBash runs snippets using what the interpreter lacks,
// with the adjustments, and with real bash, and compares the output.
func TestCompatMatchesBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is needed to compare with")
	}
	snippets := map[string]string{
		"anchored": `x=abcabc; a=(one two "th ree"); set -- p q
echo "${x/#ab/X} ${x/%bc/Y} ${x/#/P} ${x/%/S} ${x/#zz/N} ${x/#a*/L}"
printf '[%s]' "${a[@]/#/core/}" "${a[@]/%e/E}" "${a[*]/#/-}" ${a[@]/#/u}; echo
printf '[%s]' "${@/#/-I}" "${a[1]/#t/T}" "${x/#"a*"/Q}" "${x/#'ab'/R}"; echo
for w in "${a[@]/#/f:}"; do echo "$w"; done
if [[ "${x/#abc/}" == abc ]]; then echo inner-if; fi
y=$(echo "${x/%c/C}"); echo "$y"`,
		"assoc": `declare -A m=([a]=1 [b-c]=2); m+=([d]=4); m[e-f]=5
declare -A pkg_exports; pkg_exports=([port]=p [ssl-port]=s); pkg_exports+=([x]=y)
echo "${#m[@]} ${#pkg_exports[@]} ${m[b-c]} ${m[e-f]} ${pkg_exports[ssl-port]}"
for k in $(printf '%s\n' "${!m[@]}" | sort); do echo "$k=${m[$k]}"; done`,
		"let":    `let "a = 6 * 7" 'b = a + 1' c=2**3; echo $a $b $c`,
		"printf": `printf -v v '%s-%03d' x 7; printf -v w '%s,' a b c; echo "$v $w"`,
		"read": `read -r -d '' doc <<'END' || true
line one
  line two \n
END
echo "[$doc]"
IFS=: read -r -d ';' a b c <<< "1:2:3:4;rest"; echo "$a|$b|$c"
read -n 3 three <<< "abcdef"; echo "$three"
read -r -a arr -d '' <<< "x y  z"; echo "${#arr[@]} ${arr[2]}"
printf 'a\\ b c' | { read first second; echo "$first|$second"; }`,
	}
	for name, src := range snippets {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command("bash", "-c", src)
			cmd.Env = []string{"PATH=/usr/bin:/bin"}
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("bash: %v", err)
			}
			if got := runOurs(t, src); got != string(want) {
				t.Errorf("got:\n%s\nbash:\n%s", got, want)
			}
		})
	}
}

func TestParseError(t *testing.T) {
	_, err := Parse("dir/plan.sh", []byte("a=1\nfoo() {\n  echo\n"))
	var se *Error
	if !errors.As(err, &se) || se.File != "dir/plan.sh" || se.Line != 2 {
		t.Fatalf("got %#v", err)
	}
	if !strings.HasPrefix(err.Error(), "dir/plan.sh:2: syntax error: ") {
		t.Errorf("message %q", err)
	}
}

func TestEnvIsNotModified(t *testing.T) {
	env := NewEnv("A=1", "bad", "=x")
	env.SetArray("arr", "a", "b")
	env.DeclareAssoc("m")
	src := "A=2; arr+=(c); arr[0]=z; m[k]=v; export B=3"
	f, err := Parse("s", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := interp.New(interp.Env(env))
	if err := r.Run(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if got := r.Vars["arr"].List; strings.Join(got, ",") != "z,b,c" {
		t.Errorf("runner arr = %v", got)
	}
	if env.Get("A").Str != "1" || strings.Join(env.Get("arr").List, ",") != "a,b" || len(env.Get("m").Map) != 0 || env.Get("B").IsSet() {
		t.Errorf("the Env was modified: A=%v arr=%v m=%v", env.Get("A"), env.Get("arr"), env.Get("m"))
	}
	if env.Get("bad").Declared() {
		t.Error("a malformed pair became a variable")
	}
}
