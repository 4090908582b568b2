#!/usr/bin/env bash
# The batch pipeline: an array job of 100 children, each counting the words of one input
# file, and a reduce job that depends on the array and adds the counts up. Inputs and
# outputs live in a host directory mounted into every job's container.
#
# Needs a running Stratus with a container driver that runs images (as root:
# `npx stratus --driver runc`), the AWS CLI v2 and, for the image, mmdebstrap (Debian's
# package; the image is built offline from Debian's packages and cached).
#
#   examples/batch-pipeline/run.sh [endpoint]      (default http://127.0.0.1:4566)
set -euo pipefail
ENDPOINT=${1:-http://127.0.0.1:4566}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_PAGER=''
AWS="aws --endpoint-url $ENDPOINT --output text"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=100

# An image with sh, wc and awk: Debian's minbase, pushed into Stratus's ECR.
IMAGE=$(node "$ROOT/bin/stratus.js" image build debian:bookworm --endpoint "$ENDPOINT" | cut -d' ' -f1)
echo "image: $IMAGE"

DATA=$(mktemp -d /tmp/batch-pipeline-XXXX)
mkdir -p "$DATA/in" "$DATA/out"
expected=0
for i in $(seq 0 $((N - 1))); do
  words=$((i % 17 + 1))
  printf 'word %.0s' $(seq 1 "$words") > "$DATA/in/$i.txt"
  expected=$((expected + words))
done

SUFFIX=$(date +%s)
$AWS batch create-compute-environment --compute-environment-name "pipeline-$SUFFIX" --type MANAGED \
  --compute-resources "type=EC2,maxvCpus=4,subnets=subnet-local" > /dev/null
until [ "$($AWS batch describe-compute-environments --compute-environments "pipeline-$SUFFIX" \
  --query 'computeEnvironments[0].status')" = VALID ]; do sleep 0.2; done
$AWS batch create-job-queue --job-queue-name "pipeline-$SUFFIX" --priority 1 \
  --compute-environment-order "order=1,computeEnvironment=pipeline-$SUFFIX" > /dev/null
until [ "$($AWS batch describe-job-queues --job-queues "pipeline-$SUFFIX" \
  --query 'jobQueues[0].status')" = VALID ]; do sleep 0.2; done

$AWS batch register-job-definition --job-definition-name wordcount --type container \
  --parameters script=true --container-properties "{
    \"image\": \"$IMAGE\",
    \"command\": [\"sh\", \"-c\", \"Ref::script\"],
    \"resourceRequirements\": [{\"type\": \"VCPU\", \"value\": \"1\"}, {\"type\": \"MEMORY\", \"value\": \"128\"}],
    \"volumes\": [{\"name\": \"data\", \"host\": {\"sourcePath\": \"$DATA\"}}],
    \"mountPoints\": [{\"sourceVolume\": \"data\", \"containerPath\": \"/data\"}]
  }" > /dev/null

MAP=$($AWS batch submit-job --job-name map --job-queue "pipeline-$SUFFIX" --job-definition wordcount \
  --array-properties size=$N --query jobId \
  --parameters 'script=wc -w < /data/in/$AWS_BATCH_JOB_ARRAY_INDEX.txt > /data/out/$AWS_BATCH_JOB_ARRAY_INDEX')
REDUCE_PARAMETERS=$(cat <<'JSON'
{"script": "cat /data/out/* | awk '{ s += $1 } END { print s }' > /data/total"}
JSON
)
REDUCE=$($AWS batch submit-job --job-name reduce --job-queue "pipeline-$SUFFIX" --job-definition wordcount \
  --depends-on "jobId=$MAP" --query jobId --parameters "$REDUCE_PARAMETERS")
echo "map: $MAP  reduce: $REDUCE"

while :; do
  status=$($AWS batch describe-jobs --jobs "$REDUCE" --query 'jobs[0].status')
  summary=$($AWS batch describe-jobs --jobs "$MAP" --query 'jobs[0].arrayProperties.statusSummary.SUCCEEDED')
  echo "reduce: $status, map children succeeded: $summary/$N"
  case $status in SUCCEEDED | FAILED) break ;; esac
  sleep 2
done
echo "total words: $(cat "$DATA/total") (expected $expected)"
echo "logs: $AWS logs describe-log-streams --log-group-name /aws/batch/job"
[ "$status" = SUCCEEDED ] && [ "$(cat "$DATA/total")" = "$expected" ]
