// zitadel-standin: what ZitadelScore's test runs in a pod where Zitadel
// would run (Zitadel's images cannot be had on the test machines). Only the
// standard library, so it builds offline.
//
//	zitadel-standin            Zitadel's side: the management API v1 calls
//	                           ZitadelScore makes, the discovery document, the
//	                           JWKS and the JWT profile grant
//	zitadel-standin postgres   Postgres's side: listens on 5432
//
// It answers as Zitadel documents and refuses as Zitadel does: a request for
// a host that is not the instance's gets 404 (JSON from the API, text
// elsewhere; the port is not part of the match); a management call without
// the admin's token 401; a field the API does not know 400.
//
// Configuration comes from the environment the stand-in chart (../chart)
// gives it, from the values and Secrets harmony applies: the master key (32
// characters), the database's passwords and host (reached over TCP before
// it is ready), the external domain and port, and the admin's token.
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

func need(name string) string {
	v := os.Getenv(name)
	if v == "" {
		log.Fatalf("%s is not set", name)
	}
	return v
}

func postgres() {
	need("POSTGRES_PASSWORD")
	l, err := net.Listen("tcp", ":5432")
	if err != nil {
		log.Fatal(err)
	}
	log.Print("postgres stand-in listening on 5432")
	for {
		c, err := l.Accept()
		if err == nil {
			c.Close()
		}
	}
}

type user struct {
	ID, UserName, Name, TokenType string
	Keys                          map[string]*rsa.PublicKey
}

type app struct {
	ID, Name, ClientID, Method string
}

type project struct {
	ID, Name  string
	Assertion bool
	Roles     []string
	Apps      []app
}

type server struct {
	mu       sync.Mutex
	domain   string
	issuer   string
	pat      string
	signing  *rsa.PrivateKey
	next     int
	projects map[string]*project
	users    map[string]*user
	calls    []string
}

func (s *server) id() string {
	s.next++
	return strconv.Itoa(100000+s.next) + "000000000"
}

func answer(w http.ResponseWriter, status int, doc any) {
	body, _ := json.Marshal(doc)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func bad(w http.ResponseWriter, why string) { answer(w, 400, map[string]any{"code": 3, "message": why}) }

func ok(w http.ResponseWriter, doc map[string]any) {
	doc["details"] = map[string]any{"sequence": "1", "creationDate": time.Now().UTC().Format(time.RFC3339), "resourceOwner": "9000"}
	answer(w, 200, doc)
}

func list(w http.ResponseWriter, result []any) {
	answer(w, 200, map[string]any{"details": map[string]any{"totalResult": strconv.Itoa(len(result))}, "result": result})
}

// The documented fields of a request; the rest are refused.
func only(body map[string]any, allowed []string, required []string) string {
	for k := range body {
		found := false
		for _, a := range allowed {
			found = found || a == k
		}
		if !found {
			return "unknown field " + k
		}
	}
	for _, r := range required {
		if v, isString := body[r].(string); !isString || v == "" {
			return r + " is required"
		}
	}
	return ""
}

// A _search with one TEXT_QUERY_METHOD_EQUALS query on query.field.
func equals(body map[string]any, query, field string) (string, bool) {
	queries, _ := body["queries"].([]any)
	if len(queries) != 1 {
		return "", false
	}
	q, _ := queries[0].(map[string]any)
	inner, _ := q[query].(map[string]any)
	if inner == nil || inner["method"] != "TEXT_QUERY_METHOD_EQUALS" {
		return "", false
	}
	v, _ := inner[field].(string)
	return v, true
}

func (s *server) management(w http.ResponseWriter, r *http.Request, parts []string) {
	if r.Header.Get("Authorization") != "Bearer "+s.pat {
		answer(w, 401, map[string]any{"code": 16, "message": "Errors.Token.Invalid (AUTH-7fs1e)"})
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Method != "POST" {
		bad(w, "a JSON object was expected")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	n := len(parts)
	switch {
	case n == 2 && parts[0] == "projects" && parts[1] == "_search":
		name, fine := equals(body, "nameQuery", "name")
		if !fine {
			bad(w, "a nameQuery with TEXT_QUERY_METHOD_EQUALS was expected")
			return
		}
		found := []any{}
		for _, p := range s.projects {
			if p.Name == name {
				found = append(found, map[string]any{"id": p.ID, "name": p.Name, "projectRoleAssertion": p.Assertion})
			}
		}
		list(w, found)
	case n == 1 && parts[0] == "projects":
		if why := only(body, []string{"name", "projectRoleAssertion", "projectRoleCheck", "hasProjectCheck", "privateLabelingSetting"}, []string{"name"}); why != "" {
			bad(w, why)
			return
		}
		assertion, _ := body["projectRoleAssertion"].(bool)
		p := &project{ID: s.id(), Name: body["name"].(string), Assertion: assertion}
		s.projects[p.ID] = p
		ok(w, map[string]any{"id": p.ID})
	case n >= 3 && parts[0] == "projects" && s.projects[parts[1]] != nil:
		p := s.projects[parts[1]]
		switch {
		case n == 4 && parts[2] == "roles" && parts[3] == "_search":
			key, fine := equals(body, "keyQuery", "key")
			if !fine {
				bad(w, "a keyQuery was expected")
				return
			}
			found := []any{}
			for _, k := range p.Roles {
				if k == key {
					found = append(found, map[string]any{"key": k})
				}
			}
			list(w, found)
		case n == 3 && parts[2] == "roles":
			if why := only(body, []string{"roleKey", "displayName", "group"}, []string{"roleKey"}); why != "" {
				bad(w, why)
				return
			}
			p.Roles = append(p.Roles, body["roleKey"].(string))
			ok(w, map[string]any{})
		case n == 4 && parts[2] == "apps" && parts[3] == "_search":
			name, fine := equals(body, "nameQuery", "name")
			if !fine {
				bad(w, "a nameQuery was expected")
				return
			}
			found := []any{}
			for _, a := range p.Apps {
				if a.Name == name {
					found = append(found, map[string]any{"id": a.ID, "name": a.Name,
						"apiConfig": map[string]any{"clientId": a.ClientID, "authMethodType": a.Method}})
				}
			}
			list(w, found)
		case n == 4 && parts[2] == "apps" && parts[3] == "api":
			if why := only(body, []string{"name", "authMethodType"}, []string{"name"}); why != "" {
				bad(w, why)
				return
			}
			method, _ := body["authMethodType"].(string)
			if method == "" {
				method = "API_AUTH_METHOD_TYPE_BASIC"
			}
			if method != "API_AUTH_METHOD_TYPE_BASIC" && method != "API_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT" {
				bad(w, "invalid authMethodType")
				return
			}
			a := app{ID: s.id(), Name: body["name"].(string), Method: method}
			a.ClientID = a.ID + "@harmony-fleet"
			p.Apps = append(p.Apps, a)
			ok(w, map[string]any{"appId": a.ID, "clientId": a.ClientID})
		default:
			answer(w, 404, map[string]any{"code": 5, "message": "Not Found"})
		}
	case n == 2 && parts[0] == "users" && parts[1] == "_search":
		name, fine := equals(body, "userNameQuery", "userName")
		if !fine {
			bad(w, "a userNameQuery was expected")
			return
		}
		found := []any{}
		for _, u := range s.users {
			if u.UserName == name {
				found = append(found, map[string]any{"id": u.ID, "userName": u.UserName,
					"machine": map[string]any{"name": u.Name, "accessTokenType": u.TokenType}})
			}
		}
		list(w, found)
	case n == 2 && parts[0] == "users" && parts[1] == "machine":
		if why := only(body, []string{"userName", "name", "description", "accessTokenType", "userId"}, []string{"userName", "name"}); why != "" {
			bad(w, why)
			return
		}
		tokenType, _ := body["accessTokenType"].(string)
		if tokenType == "" {
			tokenType = "ACCESS_TOKEN_TYPE_BEARER"
		}
		if tokenType != "ACCESS_TOKEN_TYPE_BEARER" && tokenType != "ACCESS_TOKEN_TYPE_JWT" {
			bad(w, "invalid accessTokenType")
			return
		}
		for _, u := range s.users {
			if u.UserName == body["userName"] {
				answer(w, 409, map[string]any{"code": 6, "message": "User already exists"})
				return
			}
		}
		u := &user{ID: s.id(), UserName: body["userName"].(string), Name: body["name"].(string), TokenType: tokenType,
			Keys: map[string]*rsa.PublicKey{}}
		s.users[u.ID] = u
		ok(w, map[string]any{"userId": u.ID})
	case n == 3 && parts[0] == "users" && parts[2] == "keys" && s.users[parts[1]] != nil:
		u := s.users[parts[1]]
		if why := only(body, []string{"type", "expirationDate"}, []string{"type"}); why != "" {
			bad(w, why)
			return
		}
		if body["type"] != "KEY_TYPE_JSON" {
			bad(w, "invalid type")
			return
		}
		expiry, _ := body["expirationDate"].(string)
		if _, err := time.Parse(time.RFC3339, expiry); expiry != "" && err != nil {
			bad(w, "invalid expirationDate")
			return
		}
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			answer(w, 500, map[string]any{"code": 13, "message": err.Error()})
			return
		}
		kid := s.id()
		u.Keys[kid] = &key.PublicKey
		pemText := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		details, _ := json.Marshal(map[string]any{"type": "serviceaccount", "keyId": kid, "key": string(pemText),
			"expirationDate": expiry, "userId": u.ID})
		ok(w, map[string]any{"keyId": kid, "keyDetails": base64.StdEncoding.EncodeToString(details)})
	default:
		answer(w, 404, map[string]any{"code": 5, "message": "Not Found"})
	}
}

func b64(data []byte) string { return base64.RawURLEncoding.EncodeToString(data) }

func (s *server) sign(claims map[string]any) string {
	header, _ := json.Marshal(map[string]any{"alg": "RS256", "kid": "standin-1", "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, s.signing, crypto.SHA256, digest[:])
	return input + "." + b64(sig)
}

// The JWT profile grant (RFC 7523), as Zitadel takes a machine key.
func (s *server) token(w http.ResponseWriter, r *http.Request) {
	refuse := func(why string) { answer(w, 400, map[string]any{"error": "invalid_grant", "error_description": why}) }
	if r.ParseForm() != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		refuse("grant_type must be urn:ietf:params:oauth:grant-type:jwt-bearer")
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		refuse("the assertion is not a JWT")
		return
	}
	var header, claims map[string]any
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	c, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if json.Unmarshal(h, &header) != nil || json.Unmarshal(c, &claims) != nil || header["alg"] != "RS256" {
		refuse("the assertion is not an RS256 JWT")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	userID, _ := claims["iss"].(string)
	kid, _ := header["kid"].(string)
	u := s.users[userID]
	if u == nil || u.Keys[kid] == nil || claims["sub"] != userID {
		refuse("no such key of that user")
		return
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(u.Keys[kid], crypto.SHA256, digest[:], sig) != nil {
		refuse("the assertion's signature does not verify")
		return
	}
	audience := map[string]bool{}
	switch a := claims["aud"].(type) {
	case string:
		audience[a] = true
	case []any:
		for _, x := range a {
			if v, isString := x.(string); isString {
				audience[v] = true
			}
		}
	}
	exp, _ := claims["exp"].(float64)
	if !audience[s.issuer] || int64(exp) < time.Now().Unix() {
		refuse("the assertion is not for this issuer, or has expired")
		return
	}
	aud := []string{u.ID}
	for _, scope := range strings.Fields(r.PostForm.Get("scope")) {
		if strings.HasPrefix(scope, "urn:zitadel:iam:org:project:id:") && strings.HasSuffix(scope, ":aud") {
			aud = append(aud, strings.TrimSuffix(strings.TrimPrefix(scope, "urn:zitadel:iam:org:project:id:"), ":aud"))
		}
	}
	now := time.Now().Unix()
	access := s.sign(map[string]any{"iss": s.issuer, "sub": u.ID, "aud": aud, "client_id": u.UserName,
		"iat": now, "nbf": now, "exp": now + 3600, "jti": s.id()})
	answer(w, 200, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3599})
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/debug/ready" || r.URL.Path == "/debug/healthz" {
		w.Write([]byte("ok"))
		return
	}
	// Zitadel tells its instances apart by the host a request names.
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host != s.domain {
		// As Zitadel: its API says so in JSON, its HTTP routes in text.
		if strings.HasPrefix(r.URL.Path, "/management/") {
			answer(w, 404, map[string]any{"code": 5, "message": "unable to set instance using origin " + r.Host})
		} else {
			http.Error(w, "instance not found", 404)
		}
		return
	}
	switch {
	case r.URL.Path == "/.well-known/openid-configuration":
		answer(w, 200, map[string]any{"issuer": s.issuer, "jwks_uri": s.issuer + "/oauth/v2/keys",
			"token_endpoint": s.issuer + "/oauth/v2/token", "id_token_signing_alg_values_supported": []string{"RS256"}})
	case r.URL.Path == "/oauth/v2/keys":
		pub := s.signing.PublicKey
		answer(w, 200, map[string]any{"keys": []any{map[string]any{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "standin-1",
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}}})
	case r.URL.Path == "/oauth/v2/token" && r.Method == "POST":
		s.token(w, r)
	case r.URL.Path == "/debug/calls":
		s.mu.Lock()
		defer s.mu.Unlock()
		answer(w, 200, s.calls)
	case strings.HasPrefix(r.URL.Path, "/management/v1/"):
		s.management(w, r, strings.Split(strings.TrimPrefix(r.URL.Path, "/management/v1/"), "/"))
	default:
		answer(w, 404, map[string]any{"code": 5, "message": "Not Found"})
	}
}

func main() {
	log.SetFlags(0)
	if len(os.Args) > 1 && os.Args[1] == "postgres" {
		postgres()
		return
	}
	if len(need("ZITADEL_MASTERKEY")) != 32 {
		log.Fatal("ZITADEL_MASTERKEY must be 32 characters")
	}
	need("ZITADEL_DATABASE_POSTGRES_USER_PASSWORD")
	need("ZITADEL_DATABASE_POSTGRES_ADMIN_PASSWORD")
	database := net.JoinHostPort(need("ZITADEL_DATABASE_POSTGRES_HOST"), need("ZITADEL_DATABASE_POSTGRES_PORT"))
	for {
		c, err := net.DialTimeout("tcp", database, 2*time.Second)
		if err == nil {
			c.Close()
			break
		}
		log.Printf("waiting for the database at %s: %v", database, err)
		time.Sleep(time.Second)
	}
	domain := need("ZITADEL_EXTERNALDOMAIN")
	port, _ := strconv.Atoi(need("ZITADEL_EXTERNALPORT"))
	secure := os.Getenv("ZITADEL_EXTERNALSECURE") == "true"
	issuer := (&url.URL{Scheme: "http", Host: net.JoinHostPort(domain, strconv.Itoa(port))}).String()
	if secure {
		issuer = "https://" + net.JoinHostPort(domain, strconv.Itoa(port))
		if port == 443 {
			issuer = "https://" + domain
		}
	} else if port == 80 {
		issuer = "http://" + domain
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	// Ids differ from one start to the next, as a new database's would.
	offset, err := rand.Int(rand.Reader, big.NewInt(800000))
	if err != nil {
		log.Fatal(err)
	}
	s := &server{domain: domain, issuer: issuer, pat: need("ZITADEL_ADMIN_PAT"), signing: key, next: int(offset.Int64()),
		projects: map[string]*project{}, users: map[string]*user{}}
	fmt.Printf("zitadel stand-in for %s listening on 8080\n", issuer)
	log.Fatal(http.ListenAndServe(":8080", s))
}
