package stack

import (
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// A core member's instance boots without a package manager: the ECS-optimized Amazon Linux
// 2023 AMI has no AWS CLI, and installing one (dnf) fails in VPCs that reach AWS through
// endpoints only, or when the mirror is slow. The user data fetches the project's agent from
// the cluster bucket with curl (SigV4 signed with the instance role's credentials from IMDSv2),
// checks it against the SHA-256 in the template (ParamHostAgentSHA256), unpacks it with
// python3's zipfile (both on the AMI), and runs `neo4jctl-agent attach-volume`, which attaches,
// formats only a blank volume, mounts and marks it, logging each step to the member's boot log
// stream. Whatever fails marks the instance unhealthy, with the reason in that stream: the
// agent does so itself; when the agent cannot be had, the user data does, with curl. Every
// retry is bounded.

// hostBootFunctions are the user data's bash functions (no side effects when sourced):
// test/moto runs them, cut out of a rendered template, against moto and a fake IMDS.
const hostBootFunctions = `# --- neo4jctl host boot functions (test/moto runs these against moto) ---
# NEO4JCTL_IMDS, NEO4JCTL_AWS_ENDPOINT and NEO4JCTL_RETRY_SECONDS exist for those tests only.
IMDS="${NEO4JCTL_IMDS:-http://169.254.169.254}"
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
imds_token() { curl -sSf --retry 10 --retry-connrefused --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS/latest/api/token"; }
imds() { curl -sSf --retry 10 --retry-connrefused --max-time 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/latest/meta-data/$1"; }
json_field() { sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p'; }
# host_identity sets INSTANCE and REGION from the instance metadata (IMDSv2)
host_identity() {
  IMDS_TOKEN=$(imds_token) && INSTANCE=$(imds instance-id) && REGION=$(imds placement/region)
}
# host_credentials sets AK, SK and ST: the instance role's temporary credentials
host_credentials() {
  local role creds
  role=$(imds iam/security-credentials/ | head -n 1) && creds=$(imds "iam/security-credentials/$role") || return 1
  AK=$(json_field AccessKeyId <<<"$creds") SK=$(json_field SecretAccessKey <<<"$creds") ST=$(json_field Token <<<"$creds")
  [ -n "$AK" ] && [ -n "$SK" ]
}
# aws_url SERVICE: the regional endpoint of an AWS service
aws_url() { echo "${NEO4JCTL_AWS_ENDPOINT:-https://$1.$REGION.$URL_SUFFIX}/"; }
# aws_call SERVICE URL CURL-ARGS...: one request signed (SigV4) with the instance role
aws_call() {
  local service=$1 url=$2
  shift 2
  curl -sS --fail-with-body --max-time 120 --aws-sigv4 "aws:amz:$REGION:$service" --user "$AK:$SK" -H "x-amz-security-token: $ST" "$@" "$url"
}
# fetch_agent DIR: the agent from the cluster bucket into DIR/bootstrap, checked against the
# SHA-256 in the template; BOOT_ERROR says why not
fetch_agent() {
  local dir=$1 zip=$1/agent.zip url i
  url="https://$BUCKET.s3.$REGION.$URL_SUFFIX/$AGENT_KEY"
  if [ -n "${NEO4JCTL_AWS_ENDPOINT:-}" ]; then url="$NEO4JCTL_AWS_ENDPOINT/$BUCKET/$AGENT_KEY"; fi
  mkdir -p "$dir"
  for i in 1 2 3 4 5 6 7 8 9 10; do
    rm -f "$zip"
    if host_credentials && aws_call s3 "$url" -H "x-amz-content-sha256: $EMPTY_SHA256" -o "$zip"; then
      if [ "$(sha256sum "$zip" | cut -d ' ' -f 1)" = "$AGENT_SHA256" ]; then break; fi
      echo "neo4jctl: s3://$BUCKET/$AGENT_KEY is not the agent with SHA-256 $AGENT_SHA256" >&2
      rm -f "$zip"
    fi
    sleep $((i * ${NEO4JCTL_RETRY_SECONDS:-3}))
  done
  if [ ! -f "$zip" ]; then
    BOOT_ERROR="could not download the agent s3://$BUCKET/$AGENT_KEY with SHA-256 $AGENT_SHA256 in 10 tries"
    return 1
  fi
  if ! python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("bootstrap", sys.argv[2])' "$zip" "$dir"; then
    BOOT_ERROR="could not unpack the agent $zip"
    return 1
  fi
  chmod 0755 "$dir/bootstrap"
}
# boot_failed REASON: says why in the member's boot log stream, marks this instance
# unhealthy (its Auto Scaling group replaces it) and ends the script
boot_failed() {
  local msg now
  msg=$(printf '%s %s: FAILED: %s; marking this instance unhealthy' "${INSTANCE:-instance}" "$MEMBER" "$1" | tr -d '"\\' | tr '\n\t' '  ')
  echo "neo4jctl: $msg" >&2
  now=$(date +%s%3N)
  if host_credentials; then
    aws_call logs "$(aws_url logs)" -X POST -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: Logs_20140328.CreateLogStream' \
      --data "{\"logGroupName\":\"$LOG_GROUP\",\"logStreamName\":\"$BOOT_STREAM\"}" >/dev/null 2>&1 || true
    aws_call logs "$(aws_url logs)" -X POST -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: Logs_20140328.PutLogEvents' \
      --data "{\"logGroupName\":\"$LOG_GROUP\",\"logStreamName\":\"$BOOT_STREAM\",\"logEvents\":[{\"timestamp\":$now,\"message\":\"$msg\"}]}" >/dev/null || true
    aws_call autoscaling "$(aws_url autoscaling)" -X POST \
      --data "Action=SetInstanceHealth&Version=2011-01-01&InstanceId=$INSTANCE&HealthStatus=Unhealthy&ShouldRespectGracePeriod=false" >/dev/null || true
  fi
  exit 1
}
# --- end of the host boot functions ---
`

// coreBootMain runs the functions: @@NAME@@ are filled by coreUserData.
const coreBootMain = `CLUSTER='@@CLUSTER@@'
MEMBER='@@MEMBER@@'
MOUNT='@@MOUNT@@'
VOLUME='@@VOLUME@@'
BUCKET='@@BUCKET@@'
AGENT_KEY='@@AGENT_KEY@@'
AGENT_SHA256='@@AGENT_SHA256@@'
LOG_GROUP='@@LOG_GROUP@@'
BOOT_STREAM='@@BOOT_STREAM@@'
URL_SUFFIX='@@URL_SUFFIX@@'

# 0. no ECS agent, hence no Neo4j task, without the data volume mounted: Neo4j must never
#    start on an empty directory of the root disk (the container's agent checks the marker too)
mkdir -p /etc/systemd/system/ecs.service.d
cat > /etc/systemd/system/ecs.service.d/neo4jctl-data.conf <<'UNIT'
[Unit]
RequiresMountsFor=@@MOUNT@@
UNIT
systemctl daemon-reload

# 1. the agent, from the cluster bucket, checked against the template's SHA-256
host_identity || { echo "neo4jctl: the instance metadata does not answer" >&2; exit 1; }
fetch_agent /var/lib/neo4jctl || boot_failed "$BOOT_ERROR"

# 2. attach, format if blank, mount and mark the member's volume (the agent reports and marks
#    the instance unhealthy itself when it cannot)
/var/lib/neo4jctl/bootstrap attach-volume --cluster "$CLUSTER" --member "$MEMBER" --volume "$VOLUME" \
  --mount "$MOUNT" --log-group "$LOG_GROUP" || exit 1

# 3. only now may the member's task be placed here
`

// coreUserData is a member instance's user data; volumeID is its data volume (the stack's own
// or an adopted one).
func (b *builder) coreUserData(m cluster.Member, volumeID any) any {
	arch := b.cfg.Arch()
	script := b.userDataHead(m.Name+": attach and mount the member volume, then join ECS", coreStopTimeout) +
		hostBootFunctions + coreBootMain + ecsAttribute(m.Name)
	return fill(script, map[string]any{
		"CLUSTER":      b.name,
		"MEMBER":       m.Name,
		"MOUNT":        naming.DataMount,
		"VOLUME":       volumeID,
		"BUCKET":       b.imp(OutputBucketName),
		"AGENT_KEY":    hostAgentKey(arch),
		"AGENT_SHA256": Ref(ParamHostAgentSHA256),
		"LOG_GROUP":    b.imp(OutputLogGroup),
		"BOOT_STREAM":  naming.LogStreamBoot(m.Name),
		"URL_SUFFIX":   Ref("AWS::URLSuffix"),
	})
}

// fill replaces each @@NAME@@ of script by vals[NAME]: strings in place, anything else (an
// intrinsic function) as a part of the Fn::Join it returns.
func fill(script string, vals map[string]any) M {
	var parts []any
	text := ""
	for {
		before, rest, ok := strings.Cut(script, "@@")
		if !ok {
			break
		}
		name, after, ok := strings.Cut(rest, "@@")
		v, known := vals[name]
		if !ok || !known {
			text += before + "@@"
			script = rest
			continue
		}
		text += before
		if s, isString := v.(string); isString {
			text += s
		} else {
			parts = append(parts, text, v)
			text = ""
		}
		script = after
	}
	return Join("", append(parts, text+script)...)
}
