package server_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func (e *env) uploadOdd() {
	e.t.Helper()
	odd, _ := filepath.Glob(filepath.Join(builderPath(e.t, "oddversions"), "*.hart"))
	for _, f := range odd {
		e.want(e.upload("bobo", f, ""), 201, "upload "+f)
	}
}

type idPage struct {
	RangeStart int `json:"range_start"`
	RangeEnd   int `json:"range_end"`
	TotalCount int `json:"total_count"`
	Data       []struct {
		Origin, Name, Version, Release string
	}
}

// TestChannels: create, list, delete refusals, promote and demote of one
// release and channel to channel, the channel package lists and _latest.
func TestChannels(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		e.uploadOdd()
		var c map[string]any
		e.json(e.want(e.do("POST", "/v1/depot/channels/neurosis/beta", "bobo", nil), 201, "create"), &c)
		for _, k := range []string{"id", "owner_id", "name", "created_at", "updated_at", "origin"} {
			if _, ok := c[k]; !ok {
				t.Errorf("channel JSON lacks %s: %v", k, c)
			}
		}
		e.want(e.do("POST", "/v1/depot/channels/neurosis/beta", "bobo", nil), 409, "create twice")
		e.want(e.do("POST", "/v1/depot/channels/neurosis/bldr-123", "bobo", nil), 201, "create bldr-")
		e.want(e.do("POST", "/v1/depot/channels/neurosis/a%20b", "bobo", nil), 422, "bad channel name")
		e.want(e.do("POST", "/v1/depot/channels/nope/beta", "bobo", nil), 404, "unknown origin")
		var list []struct{ Name string }
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis", "", nil), 200, "list"), &list)
		if fmt.Sprint(list) != "[{beta} {stable} {unstable}]" {
			t.Errorf("channels %v", list)
		}
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis?sandbox=true", "", nil), 200, "list"), &list)
		if len(list) != 4 {
			t.Errorf("sandbox channels %v", list)
		}
		for _, ch := range []string{"stable", "unstable"} {
			e.want(e.do("DELETE", "/v1/depot/channels/neurosis/"+ch, "bobo", nil), 403, "delete "+ch)
		}
		e.want(e.do("DELETE", "/v1/depot/channels/neurosis/bldr-123", "bobo", nil), 200, "delete")
		e.want(e.do("DELETE", "/v1/depot/channels/neurosis/absent", "bobo", nil), 200, "delete absent")

		const rel = "oddversion6/1.2.3/20190513194138"
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/nochannel/pkgs/"+rel+"/promote", "bobo", nil), 404, "promote to a missing channel")
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis", "", nil), 200, "list"), &list)
		if len(list) != 3 {
			t.Errorf("promote created a channel: %v", list)
		}
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/beta/pkgs/oddversion6/1.2.3/20000101000000/promote", "bobo", nil), 404, "promote a missing release")
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/beta/pkgs/"+rel+"/promote?target=x86_64-windows", "bobo", nil), 404, "promote another target")
		for range 2 {
			e.want(e.do("PUT", "/v1/depot/channels/neurosis/beta/pkgs/"+rel+"/promote", "bobo", nil), 200, "promote (idempotent)")
		}
		var chs []struct{ Name string }
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/neurosis/"+rel+"/channels", "", nil), 200, "channels of release"), &chs)
		if fmt.Sprint(chs) != "[{unstable} {beta}]" {
			t.Errorf("channels of %s: %v (want names descending)", rel, chs)
		}
		var page idPage
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis/beta/pkgs", "", nil), 200, "beta list"), &page)
		if page.TotalCount != 1 || page.Data[0].Version != "1.2.3" {
			t.Errorf("beta list %+v", page)
		}
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis/nochannel/pkgs", "", nil), 200, "unknown channel list"), &page)
		if page.TotalCount != 0 {
			t.Errorf("unknown channel list %+v", page)
		}
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis/unstable/pkgs/oddversion1", "", nil), 200, "unstable list"), &page)
		if page.TotalCount != 6 || page.Data[0].Version != "R11B-5" {
			t.Errorf("unstable oddversion1 list (ident ascending) %+v", page)
		}
		e.want(e.do("GET", "/v1/depot/channels/neurosis/unstable/pkgs/_latest", "", nil), 400, "_latest without target")
		var latest struct {
			Channel, Target string
			Data            []struct{ Name, Version string }
		}
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis/unstable/pkgs/_latest?target=x86_64-linux", "", nil), 200, "_latest"), &latest)
		if len(latest.Data) != 8 || latest.Data[0].Version != "R16B03-1" || latest.Channel != "unstable" {
			t.Errorf("_latest %+v", latest)
		}
		var p map[string]any
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis/beta/pkgs/"+rel, "", nil), 200, "channel release"), &p)
		if _, hasSize := p["size"]; hasSize || p["manifest"] == "" {
			t.Errorf("channel package JSON: size present %v, manifest %q", hasSize, p["manifest"])
		}

		// Demote.
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/unstable/pkgs/"+rel+"/demote", "", nil), 403, "demote from unstable (before auth)")
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/stable/pkgs/"+rel+"/demote", "bobo", nil), 400, "demote what is not there")
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/beta/pkgs/"+rel+"/demote", "bobo", nil), 200, "demote")
		e.want(e.do("GET", "/v1/depot/channels/neurosis/beta/pkgs/"+rel, "", nil), 404, "demoted")

		// Channel to channel.
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/unstable/pkgs/promote?channel=unstable", "bobo", nil), 400, "same channel")
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/beta/pkgs/promote?channel=unstable", "bobo", nil), 400, "into unstable")
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/unstable/pkgs/demote?channel=beta", "bobo", nil), 400, "demote from unstable")
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/unstable/pkgs/promote?channel=rc", "bobo", nil), 200, "promote all into a new channel")
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis/rc/pkgs", "", nil), 200, "rc list"), &page)
		if page.TotalCount != 24 {
			t.Errorf("rc holds %d, want 24", page.TotalCount)
		}
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/rc/pkgs/promote?channel=stable", "bobo", nil), 200, "rc to stable")
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/rc/pkgs/demote?channel=stable", "bobo", nil), 200, "rc out of stable")
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis/stable/pkgs", "", nil), 200, "stable list"), &page)
		if page.TotalCount != 0 {
			t.Errorf("stable holds %d after the channel demotion", page.TotalCount)
		}

		// Deleting: refused in stable; the channel memberships go with it.
		const del = "oddversion8/4/20190617213055"
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/stable/pkgs/"+del+"/promote", "bobo", nil), 200, "promote")
		r := e.want(e.do("DELETE", "/v1/depot/pkgs/neurosis/"+del, "bobo", nil), 422, "delete from stable")
		if !strings.Contains(r.String(), "stable") {
			t.Errorf("refusal %q", r)
		}
		e.want(e.do("PUT", "/v1/depot/channels/neurosis/stable/pkgs/"+del+"/demote", "bobo", nil), 200, "demote")
		e.want(e.do("DELETE", "/v1/depot/pkgs/neurosis/"+del, "bobo", nil), 204, "delete")
		e.want(e.do("DELETE", "/v1/depot/pkgs/neurosis/"+del, "bobo", nil), 404, "delete again")
		e.want(e.do("GET", "/v1/depot/pkgs/neurosis/"+del, "bobo", nil), 404, "deleted")
		e.json(e.want(e.do("GET", "/v1/depot/channels/neurosis/rc/pkgs", "", nil), 200, "rc list"), &page)
		if page.TotalCount != 23 {
			t.Errorf("rc holds %d after a delete, want 23", page.TotalCount)
		}
	})
}

// TestPagination: 50 per page, 206 while more follow, range as offset.
func TestPagination(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.neurosis()
		e.uploadOdd()
		// 24 releases: one page, 200.
		var page idPage
		r := e.want(e.do("GET", "/v1/depot/channels/neurosis/unstable/pkgs", "", nil), 200, "list")
		e.json(r, &page)
		if page.RangeStart != 0 || page.RangeEnd != 23 || page.TotalCount != 24 || len(page.Data) != 24 {
			t.Errorf("page %d-%d of %d with %d", page.RangeStart, page.RangeEnd, page.TotalCount, len(page.Data))
		}
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/neurosis?range=20", "", nil), 200, "list from 20"), &page)
		if page.RangeStart != 20 || page.RangeEnd != 23 || len(page.Data) != 4 {
			t.Errorf("range=20: %d-%d of %d with %d", page.RangeStart, page.RangeEnd, page.TotalCount, len(page.Data))
		}
		e.json(e.want(e.do("GET", "/v1/depot/pkgs/neurosis?range=100", "", nil), 200, "past the end"), &page)
		if page.RangeEnd != page.TotalCount || len(page.Data) != 0 {
			t.Errorf("past the end: %+v", page)
		}
		e.want(e.do("GET", "/v1/depot/pkgs/neurosis?range=x", "", nil), 400, "bad range")
		// More than a page: the origin's package names (8 uploaded, 60
		// more as settings rows) as /depot/{origin}/pkgs pages them.
		for i := range 60 {
			e.want(e.do("POST", fmt.Sprintf("/v1/settings/neurosis/pkg%02d", i), "bobo", strings.NewReader(`{"visibility":"public"}`)), 201, "setting")
		}
		r = e.want(e.do("GET", "/v1/depot/neurosis/pkgs", "", nil), 206, "first page of 68 names")
		e.json(r, &page)
		if page.RangeStart != 0 || page.RangeEnd != 49 || page.TotalCount != 68 || len(page.Data) != 50 {
			t.Errorf("first page %d-%d of %d with %d", page.RangeStart, page.RangeEnd, page.TotalCount, len(page.Data))
		}
		e.json(e.want(e.do("GET", "/v1/depot/neurosis/pkgs?range=50", "", nil), 200, "second page"), &page)
		if page.RangeEnd != 67 || len(page.Data) != 18 {
			t.Errorf("second page %d-%d of %d with %d", page.RangeStart, page.RangeEnd, page.TotalCount, len(page.Data))
		}
	})
}
