#!/usr/bin/env bash
# The local end-to-end demo (`make demo`): neo4jctl creates a cluster from an example
# cluster.yaml, shows it, scales its replicas, stops it, resets its data, starts it and
# deletes it, against moto (a local AWS emulator, with the CloudFormation types test/moto
# registers), so no AWS account is needed and nothing costs money. Everything runs from this
# checkout; moto stops when the script ends.
#
# Needs Go and Python 3.11 with venv; scripts/test-deps.sh --demo installs moto into .venv
# (no Java or Maven: the Neo4j test server is for make test only).
# DEMO_KEEP=1 leaves moto running at the end, detached from this shell (setsid), and keeps
# the work directory (moto's log, the cluster.yaml used); the script prints both.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -t 2 && -z "${NO_COLOR:-}" ]]; then B=$'\033[1m'; N=$'\033[0m'; else B=""; N=""; fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N" >&2; }
run() { printf '%s$ %s%s\n' "$B" "$*" "$N" >&2; "$@"; }

step "Installing the emulator (scripts/test-deps.sh --demo) and building neo4jctl with its agent"
scripts/test-deps.sh --demo
go run ./cmd/build-agent >&2
go build -o bin/neo4jctl ./cmd/neo4jctl
PY="$ROOT/.venv/bin/python"
NEO4JCTL="$ROOT/bin/neo4jctl"

WORK="$(mktemp -d)"
MOTO_PID=""
cleanup() {
  if [[ -n "${DEMO_KEEP:-}" ]]; then return; fi
  if [[ -n "$MOTO_PID" ]]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step "Starting moto on 127.0.0.1"
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
if [[ -n "${DEMO_KEEP:-}" ]]; then
  # its own session: Ctrl-C or the end of this script does not reach it
  setsid "$PY" test/moto/neo4jctl_moto.py -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 </dev/null &
else
  "$PY" test/moto/neo4jctl_moto.py -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
fi
MOTO_PID=$!
ENDPOINT="http://127.0.0.1:$PORT"
"$PY" - "$ENDPOINT" <<'PYEOF' || { cat "$WORK/moto.log" >&2; exit 1; }
import sys, time, urllib.request
ep = sys.argv[1]
for _ in range(600):
    try:
        urllib.request.urlopen(ep + "/moto-api/config", timeout=1).read()
        break
    except Exception:
        time.sleep(0.1)
else:
    sys.exit("moto did not start")
# Lambda and Batch without Docker, as the tests run them
req = urllib.request.Request(ep + "/moto-api/config", method="POST",
    data=b'{"batch": {"use_docker": false}, "lambda": {"use_docker": false}}',
    headers={"Content-Type": "application/json"})
urllib.request.urlopen(req).read()
PYEOF
echo "moto is at $ENDPOINT (pid $MOTO_PID)" >&2

# Point every AWS SDK in this shell at moto, and nothing else.
export AWS_ENDPOINT_URL="$ENDPOINT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1 AWS_MAX_ATTEMPTS=1 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

step "Preparing the account: an existing VPC with three private subnets behind a NAT gateway, and the Neo4j image in ECR"
# examples/production.yaml names an existing VPC; moto cannot make resources with given ids,
# so make a VPC and subnets and point a copy of the example at them. The image is
# registered as a manifest only: moto has no registry for `neo4jctl image push` to push to.
VERSION="$("$NEO4JCTL" create cluster -f examples/production.yaml --dry-run -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["config"]["neo4j"]["version"])')"
"$PY" - "$VERSION" "$WORK/cluster.yaml" <<'PYEOF'
import hashlib, json, sys, boto3
version, out = sys.argv[1], sys.argv[2]
ec2 = boto3.client("ec2")
vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
# what create checks first: DNS hostnames on (the API makes VPCs without), and private
# subnets whose route table sends 0.0.0.0/0 to a NAT gateway in a public subnet
ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"eu-west-1{az}")["Subnet"]["SubnetId"]
           for i, az in enumerate("abc")]
public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.200.0/24", AvailabilityZone="eu-west-1a")["Subnet"]["SubnetId"]
igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
ec2.associate_route_table(RouteTableId=public_rt, SubnetId=public)
nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"])["NatGateway"]["NatGatewayId"]
private_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
for s in subnets:
    ec2.associate_route_table(RouteTableId=private_rt, SubnetId=s)
doc = open("examples/production.yaml").read().replace("vpc-0a1b2c3d4e5f60718", vpc)
for old, new in zip(["subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60722", "subnet-0a1b2c3d4e5f60733"], subnets):
    doc = doc.replace(old, new)
open(out, "w").write(doc)
print(f"VPC {vpc}, subnets {', '.join(subnets)}", file=sys.stderr)
# naming.ImageTag: <version>-enterprise-neo4jctl-<first 12 of the amd64 agent's SHA-256>
sha = hashlib.sha256(open("pkg/lambdas/agentbundle/zips/agent-amd64.zip", "rb").read()).hexdigest()
tag = f"{version}-enterprise-neo4jctl-{sha[:12]}"
ecr = boto3.client("ecr")
ecr.create_repository(repositoryName="neo4jctl/neo4j")
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                       "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}, "layers": []}
ecr.put_image(repositoryName="neo4jctl/neo4j", imageTag=tag, imageManifest=json.dumps(manifest))
print(f"image neo4jctl/neo4j:{tag}", file=sys.stderr)
PYEOF

step "Creating the cluster (--wait=false: moto runs no containers, so no Neo4j ever forms to wait for)"
run "$NEO4JCTL" create cluster -f "$WORK/cluster.yaml" --wait=false

step "The cluster"
run "$NEO4JCTL" get cluster graph-prod
step "All clusters in the region"
run "$NEO4JCTL" get cluster

step "What is wrong and what to do next (moto runs no containers: diagnose finds no member running and exits 1)"
# diagnose exits 1 when a check fails, which it must here: the demo goes on only on exit 1
# (0 or 2 would mean diagnose missed what is wrong, or was called wrongly)
code=0
run "$NEO4JCTL" diagnose graph-prod --bundle "$WORK/graph-prod-diagnose.tar.gz" || code=$?
if [[ $code != 1 ]]; then
  echo "diagnose exited $code; on this cluster it must exit 1 (checks fail: no member runs)" >&2
  exit 1
fi
echo "(diagnose exited 1, as it must here: the checks above fail. The support bundle it wrote holds:)" >&2
tar -tzf "$WORK/graph-prod-diagnose.tar.gz" | sed 's/^/  /' >&2

step "Day two: scale the replicas, stop, update with the file, reset the data, start (--wait=false: no Neo4j in moto to wait for)"
run "$NEO4JCTL" scale replicas graph-prod --count 3 --yes --wait=false
run "$NEO4JCTL" stop cluster graph-prod --yes
run "$NEO4JCTL" get cluster graph-prod
# the file still says 2 replicas: update refuses to undo the scale, naming the field and its line
code=0
run "$NEO4JCTL" update cluster -f "$WORK/cluster.yaml" --yes || code=$?
echo "(update exited $code)" >&2
[[ $code == 2 ]] || { echo "update should have refused to undo the scale (exit 2), not $code" >&2; exit 1; }
run "$NEO4JCTL" reset-data cluster graph-prod --yes
run "$NEO4JCTL" start cluster graph-prod --yes --wait=false

step "Deleting the cluster (member volumes and backups are kept without --purge-data)"
run "$NEO4JCTL" delete cluster graph-prod --yes
run "$NEO4JCTL" get cluster

if [[ -n "${DEMO_KEEP:-}" ]]; then
  step "moto keeps running (pid $MOTO_PID; stop it with: kill $MOTO_PID): export AWS_ENDPOINT_URL=$ENDPOINT AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1 AWS_MAX_ATTEMPTS=1"
  echo "Kept $WORK (moto.log, cluster.yaml)" >&2
fi
