#!/usr/bin/env bash
# The serverless HTTP API, REST API (v1) half: `POST /items` and `GET /items/{id}` as
# resources and methods with Lambda proxy integrations to the same two functions as the
# HTTP API half (../http/items.js, which keeps items in an S3 bucket; the 1.0 proxy event
# carries the body and path parameters where it reads them), a `prod` stage by
# CreateDeployment, then curl at both invoke URL forms:
#   host  http://<api-id>.execute-api.localhost:4566/prod/items
#   path  http://127.0.0.1:4566/restapis/<api-id>/prod/_user_request_/items
#
# Needs a running Stratus (`npx stratus`), the AWS CLI v2, curl and node.
#
#   examples/http-api/rest/run.sh [endpoint]      (default http://127.0.0.1:4566)
set -euo pipefail
ENDPOINT=${1:-http://127.0.0.1:4566}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_PAGER=''
AWS="${AWS_CLI:-aws} --endpoint-url $ENDPOINT --output text"
HERE=$(cd "$(dirname "$0")" && pwd)
SUFFIX=$(date +%s%N | tail -c 9)
ACCOUNT=$($AWS sts get-caller-identity --query Account)
REGION=$AWS_DEFAULT_REGION
PORT=${ENDPOINT##*:}
WORK=$(mktemp -d /tmp/rest-api-XXXX)
trap 'rm -rf "$WORK"' EXIT

BUCKET="rest-items-$SUFFIX"
$AWS s3api create-bucket --bucket "$BUCKET" > /dev/null
ROLE=$($AWS iam create-role --role-name "rest-items-$SUFFIX" --query Role.Arn \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')
node "$HERE/../../zip.cjs" "$HERE/../http/items.js" index.js "$WORK/items.zip"

API=$($AWS apigateway create-rest-api --name "rest-items-$SUFFIX" --query id)
ROOT=$($AWS apigateway get-resources --rest-api-id "$API" --query 'items[?path==`/`].id')
ITEMS=$($AWS apigateway create-resource --rest-api-id "$API" --parent-id "$ROOT" --path-part items --query id)
ITEM=$($AWS apigateway create-resource --rest-api-id "$API" --parent-id "$ITEMS" --path-part '{id}' --query id)
for op in create get; do
  FN=$($AWS lambda create-function --function-name "rest-items-$op-$SUFFIX" --runtime nodejs20.x \
    --handler "index.$op" --role "$ROLE" --zip-file "fileb://$WORK/items.zip" \
    --environment "Variables={ITEMS_BUCKET=$BUCKET}" --query FunctionArn)
  $AWS lambda wait function-active-v2 --function-name "$FN"
  # API Gateway may invoke the function only when its policy says so, as on AWS.
  $AWS lambda add-permission --function-name "$FN" --statement-id apigateway \
    --action lambda:InvokeFunction --principal apigateway.amazonaws.com \
    --source-arn "arn:aws:execute-api:$REGION:$ACCOUNT:$API/*" > /dev/null
  case $op in create) RES=$ITEMS METHOD=POST ;; get) RES=$ITEM METHOD=GET ;; esac
  $AWS apigateway put-method --rest-api-id "$API" --resource-id "$RES" --http-method "$METHOD" \
    --authorization-type NONE > /dev/null
  $AWS apigateway put-integration --rest-api-id "$API" --resource-id "$RES" --http-method "$METHOD" \
    --type AWS_PROXY --integration-http-method POST \
    --uri "arn:aws:apigateway:$REGION:lambda:path/2015-03-31/functions/$FN/invocations" > /dev/null
done
$AWS apigateway create-deployment --rest-api-id "$API" --stage-name prod > /dev/null
echo "api: $API  invoke URL: http://$API.execute-api.localhost:$PORT/prod"

HOST_URL="http://$API.execute-api.localhost:$PORT/prod"
PATH_URL="$ENDPOINT/restapis/$API/prod/_user_request_"
created=$(curl -sS --fail-with-body -X POST "$HOST_URL/items" \
  -H 'content-type: application/json' -d '{"name":"widget","price":3}')
echo "POST $HOST_URL/items -> $created"
ID=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$created")
got=$(curl -sS --fail-with-body "$PATH_URL/items/$ID")
echo "GET  $PATH_URL/items/$ID -> $got"
[ "$(node -e 'console.log(JSON.parse(process.argv[1]).name)' "$got")" = widget ]
got=$(curl -sS --fail-with-body "$HOST_URL/items/$ID")
echo "GET  $HOST_URL/items/$ID -> $got"
status=$(curl -sS -o /dev/null -w '%{http_code}' "$PATH_URL/items/no-such-item")
echo "GET  $PATH_URL/items/no-such-item -> $status"
[ "$status" = 404 ]
status=$(curl -sS -o /dev/null -w '%{http_code}' "$HOST_URL/nothing-here")
echo "GET  $HOST_URL/nothing-here -> $status (Missing Authentication Token)"
[ "$status" = 403 ]
