package cluster

import (
	"math"
	"regexp"
	"strings"
	"unicode"
)

// The secret detector keeps credentials out of cluster.yaml (neo4jctl generates passwords in
// Secrets Manager). It judges keys by their last word, so that settings *about* secrets
// (dbms.security.auth_minimum_password_length) pass, and values by the shapes real
// credentials have. What it finds is reported by kind and field, never quoted.

// secretWords end the names of keys that hold a credential.
var secretWords = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "passphrase": true, "secret": true,
	"token": true, "credential": true, "credentials": true, "apikey": true,
}

// secretKey reports whether a map key (a neo4j.config setting, a tag) names a credential:
// its last word is one of secretWords, or it ends in "api key"/"secret key"/"access key".
// dbms.ssl.policy.*.private_key is a file path, so "private key" is left to the value check.
func secretKey(key string) bool {
	w := keyWords(key)
	if len(w) == 0 {
		return false
	}
	last := w[len(w)-1]
	if secretWords[last] {
		return true
	}
	if len(w) > 1 && last == "key" {
		switch w[len(w)-2] {
		case "api", "secret", "access", "auth":
			return true
		}
	}
	return false
}

// looksSecret is the broader test for keys that are not fields of cluster.yaml at all (so
// refused either way): any secret word anywhere, for the better message.
func looksSecret(key string) bool {
	for _, w := range keyWords(key) {
		if secretWords[w] || w == "privatekey" {
			return true
		}
	}
	k := strings.ToLower(key)
	return strings.Contains(k, "password") || strings.Contains(k, "secret") || strings.Contains(k, "private_key") || strings.Contains(k, "privatekey")
}

// keyWords splits a key into lower-case words at punctuation and camelCase boundaries:
// "keyStorePassword" and "key_store.password" are both [key store password].
func keyWords(key string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prevLower := false
	for _, r := range key {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			prevLower = false
			continue
		case unicode.IsUpper(r) && prevLower:
			flush()
		}
		cur = append(cur, r)
		prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
	}
	flush()
	return out
}

var secretShapes = []struct {
	what string
	re   *regexp.Regexp
}{
	{"an AWS access key id", regexp.MustCompile(`\b(AKIA|ASIA)[A-Z0-9]{16}\b`)},
	{"a private key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
	{"a password in a URL", regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*:[^\s/?#@]+@`)},
	{"a GitHub token", regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`)},
	{"a Slack token", regexp.MustCompile(`\b(xox[abposr]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})`)},
	{"a Slack webhook URL", regexp.MustCompile(`hooks\.slack\.com/(services|workflows|triggers)/[A-Za-z0-9_/-]{8,}`)},
	{"a JSON Web Token", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)},
	{"a password assignment", regexp.MustCompile(`(?i)(password|passwd|pwd|secret|token|api_?key)["']?\s*=\s*["']?[^\s"';,&]{3,}`)},
	{"an AWS secret access key", awsSecretRun},
}

// awsSecretRun finds candidate runs; awsSecretKey decides.
var awsSecretRun = regexp.MustCompile(`[A-Za-z0-9/+]{40,}`)

// secretShape names the kind of credential a value looks like, or "".
func secretShape(s string) string {
	for _, sh := range secretShapes {
		if sh.re == awsSecretRun {
			for _, run := range awsSecretRun.FindAllString(s, -1) {
				if awsSecretKey(run) {
					return sh.what
				}
			}
			continue
		}
		if sh.re.MatchString(s) {
			return sh.what
		}
	}
	return ""
}

// awsSecretKey: an AWS secret access key is 40 random base64 characters. Paths and words
// of that length are told apart by the mix of character classes, few slashes, and entropy.
func awsSecretKey(run string) bool {
	if len(run) != 40 || strings.Count(run, "/")+strings.Count(run, "+") > 4 || strings.Contains(run, "//") {
		return false
	}
	var upper, lower, digit bool
	counts := map[rune]int{}
	for _, r := range run {
		upper = upper || unicode.IsUpper(r)
		lower = lower || unicode.IsLower(r)
		digit = digit || unicode.IsDigit(r)
		counts[r]++
	}
	if !upper || !lower || !digit {
		return false
	}
	entropy := 0.0
	for _, c := range counts {
		p := float64(c) / 40
		entropy -= p * math.Log2(p)
	}
	return entropy >= 4.3
}

// redactLine masks, keeping columns, whatever on a source line looks secret: shapes of
// credentials, and everything after a key that names one. Used where a line is shown.
func redactLine(line string) string {
	out := redactText(line)
	for _, m := range yamlKeyRe.FindAllStringSubmatchIndex(out, -1) {
		if secretKey(out[m[2]:m[3]]) || looksSecret(out[m[2]:m[3]]) {
			rest := []rune(out[m[1]:])
			for i, r := range rest {
				if r != ' ' && r != '\t' {
					rest[i] = '*'
				}
			}
			return out[:m[1]] + string(rest)
		}
	}
	return out
}

// yamlKeyRe finds "key:" on a line, block or flow style.
var yamlKeyRe = regexp.MustCompile(`([A-Za-z0-9_.\-]+)["']?\s*:(\s|$)`)

// redactText masks each credential shape in s with asterisks of the same length.
func redactText(s string) string {
	for _, sh := range secretShapes {
		s = sh.re.ReplaceAllStringFunc(s, func(m string) string {
			if sh.re == awsSecretRun && !awsSecretKey(m) {
				return m
			}
			return strings.Repeat("*", len([]rune(m)))
		})
	}
	return s
}
