package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/svcgroup"
	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/manager"
)

func readPayload(a *app, file string) ([]byte, error) {
	var data []byte
	var err error
	if file == "" || file == "-" {
		data, err = io.ReadAll(io.LimitReader(a.stdin, manager.MaxPayload+1))
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", map[bool]string{true: "standard input", false: file}[file == "" || file == "-"], err)
	}
	return data, nil
}

// parseGroupVersion reads the SERVICE_GROUP and VERSION arguments of hab
// config apply and hab file upload.
func parseGroupVersion(group, version string) (svcgroup.Group, uint64, error) {
	sg, err := svcgroup.Parse(group)
	if err != nil {
		return svcgroup.Group{}, 0, usageError("%v", err)
	}
	var v uint64
	if _, err := fmt.Sscan(version, &v); err != nil || fmt.Sprint(v) != version {
		return svcgroup.Group{}, 0, usageError("invalid version %q: a whole number is expected", version)
	}
	return sg, v, nil
}

func (a *app) configApplyCmd() *cobra.Command {
	var client func() (ctl.Client, error)
	var keys func() crypto.Cache
	var user string
	c := &cobra.Command{
		Use:   "apply SERVICE_GROUP VERSION [FILE]",
		Short: "Sets a configuration to be shared by members of a Service Group",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(c *cobra.Command, args []string) error {
			sg, v, err := parseGroupVersion(args[0], args[1])
			if err != nil {
				return err
			}
			file := "-"
			if len(args) == 3 {
				file = args[2]
			}
			data, err := readPayload(a, file)
			if err != nil {
				return err
			}
			if len(data) > manager.MaxPayload {
				return fmt.Errorf("Configuration too large. Maximum size allowed is %d bytes", manager.MaxPayload)
			}
			cl, err := client()
			if err != nil {
				return err
			}
			ca := manager.ConfigArgs{ServiceGroup: sg.String(), Version: v, Config: string(data)}
			if err := a.ctlDo(c.Context(), cl, manager.CmdValidate, ca); err != nil {
				return err
			}
			if user != "" {
				sealed, err := manager.Encrypt(keys(), user, sg.String(), data)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "☛ Encrypting config (user rev = %s, service rev = %s)\n", sealed.User, sealed.Service)
				ca.Config, ca.Encrypted = string(sealed.Body), true
			}
			return a.ctlDo(c.Context(), cl, manager.CmdConfigApply, ca)
		},
	}
	client = a.remoteFlag(c)
	c.Flags().StringVarP(&user, "user", "u", "", "Name of a user key to use for encryption (the configuration is encrypted for the service group's key)")
	keys = a.keyCacheFlag(c)
	return c
}

func (a *app) fileUploadCmd() *cobra.Command {
	var client func() (ctl.Client, error)
	var keys func() crypto.Cache
	var user string
	c := &cobra.Command{
		Use:   "upload SERVICE_GROUP VERSION FILE",
		Short: "Upload a file to the Supervisor ring",
		Args:  cobra.ExactArgs(3),
		RunE: func(c *cobra.Command, args []string) error {
			sg, v, err := parseGroupVersion(args[0], args[1])
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[2])
			if err != nil {
				return fmt.Errorf("read %s: %w", args[2], err)
			}
			if len(data) > manager.MaxPayload {
				return fmt.Errorf("File too large. Maximum size allowed is %d bytes", manager.MaxPayload)
			}
			cl, err := client()
			if err != nil {
				return err
			}
			name := args[2]
			if i := strings.LastIndexByte(name, '/'); i >= 0 {
				name = name[i+1:]
			}
			fa := manager.FileArgs{ServiceGroup: sg.String(), Version: v, Filename: name, Body: data}
			// As the original: encrypted only for a group of an
			// organization (a service key is named service.group@org).
			if user != "" && sg.Organization != "" {
				sealed, err := manager.Encrypt(keys(), user, sg.String(), data)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "☛ Encrypting file (user rev = %s, service rev = %s)\n", sealed.User, sealed.Service)
				fa.Body, fa.Encrypted = sealed.Body, true
			}
			return a.ctlDo(c.Context(), cl, manager.CmdFileUpload, fa)
		},
	}
	client = a.remoteFlag(c)
	c.Flags().StringVarP(&user, "user", "u", "", "Name of the user key to encrypt with (only for a service group with an @organization)")
	keys = a.keyCacheFlag(c)
	return c
}
