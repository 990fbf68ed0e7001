// callout-floor: the least an auth callout can do, built on NATS's own Go
// libraries. It checks no token: it decodes the server's request (which
// verifies its signature; opened first when sealed with an xkey), then signs
// a user JWT and the response. The login
// benchmark times it beside fleet-callout to show how much of a callout
// login is nats-server's own work. A benchmark tool only: it admits anyone.
//
// It takes fleet-callout's flags and ignores the ones it has no use for.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

func main() {
	flags := map[string]string{}
	for i := 1; i+1 < len(os.Args); i += 2 {
		flags[os.Args[i]] = os.Args[i+1]
	}
	read := func(flag string) string {
		b, err := os.ReadFile(flags[flag])
		if err != nil {
			fmt.Fprintf(os.Stderr, "callout-floor: %s: %v\n", flag, err)
			os.Exit(2)
		}
		return strings.TrimSpace(string(b))
	}
	issuer, err := nkeys.FromSeed([]byte(read("--issuer-seed-file")))
	if err != nil {
		fmt.Fprintf(os.Stderr, "callout-floor: --issuer-seed-file: %v\n", err)
		os.Exit(2)
	}
	var xkey nkeys.KeyPair
	if flags["--xkey-seed-file"] != "" {
		if xkey, err = nkeys.FromCurveSeed([]byte(read("--xkey-seed-file"))); err != nil {
			fmt.Fprintf(os.Stderr, "callout-floor: --xkey-seed-file: %v\n", err)
			os.Exit(2)
		}
	}
	user := flags["--nats-user"]
	if user == "" {
		user = "callout"
	}
	nc, err := nats.Connect(flags["--nats-urls"], nats.UserInfo(user, read("--nats-password-file")))
	if err != nil {
		fmt.Fprintf(os.Stderr, "callout-floor: %v\n", err)
		os.Exit(1)
	}
	account := flags["--account"]
	if account == "" {
		account = "FLEET"
	}
	_, err = nc.QueueSubscribe("$SYS.REQ.USER.AUTH", "callout-floor", func(m *nats.Msg) {
		data := m.Data
		serverXkey := m.Header.Get("Nats-Server-Xkey")
		if serverXkey != "" {
			if xkey == nil {
				return
			}
			if data, err = xkey.Open(m.Data, serverXkey); err != nil {
				return
			}
		}
		request, err := jwt.DecodeAuthorizationRequestClaims(string(data))
		if err != nil {
			return
		}
		claims := jwt.NewUserClaims(request.UserNkey)
		claims.Audience = account
		claims.Name = "anyone"
		userJwt, err := claims.Encode(issuer)
		if err != nil {
			return
		}
		response := jwt.NewAuthorizationResponseClaims(request.UserNkey)
		response.Audience = request.Server.ID
		response.Jwt = userJwt
		answer, err := response.Encode(issuer)
		if err != nil {
			return
		}
		sealed := []byte(answer)
		if serverXkey != "" {
			if sealed, err = xkey.Seal(sealed, serverXkey); err != nil {
				return
			}
		}
		_ = m.Respond(sealed)
	})
	if err == nil {
		err = nc.Flush()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "callout-floor: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("answering authorization requests")
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	nc.Close()
}
