package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"strings"

	"backstop/internal/app"
	"backstop/internal/auth"
)

func userAddCmd() *command {
	return &command{name: "add", summary: "add a web app user; the password is read from stdin",
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			var n auth.NewUser
			fs.StringVar(&n.Email, "email", "", "the user's email, used to sign in")
			fs.Func("role", "staff (one tenant's queues) or engineer (every tenant, reports)", func(v string) error {
				n.Role = auth.Role(v)
				return nil
			})
			fs.StringVar(&n.TenantSlug, "tenant", "", "the tenant a staff user belongs to")
			return func(ctx context.Context, io *stdio, _ []string) error {
				line, err := bufio.NewReader(io.in).ReadString('\n')
				if err != nil && line == "" {
					line = ""
				}
				n.Password = strings.TrimRight(line, "\r\n")
				if err := n.Validate(); err != nil {
					return err
				}
				return withApp(ctx, io, func(a *app.App) error {
					var tenantID *int64
					if n.TenantSlug != "" {
						t, err := a.Store.TenantBySlug(ctx, n.TenantSlug)
						if err != nil {
							return fmt.Errorf("tenant %q: %w", n.TenantSlug, err)
						}
						tenantID = &t.ID
					}
					hash, err := auth.HashPassword(n.Password)
					if err != nil {
						return err
					}
					id, err := a.Store.CreateUser(ctx, n.Email, n.Role, tenantID, hash)
					if err != nil {
						return err
					}
					fmt.Fprintf(io.out, "user %d added: %s (%s)\n", id, n.Email, n.Role)
					return nil
				})
			}
		}}
}
