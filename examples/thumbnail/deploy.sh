#!/usr/bin/env bash
# Serverless thumbnail creation, deployed with the AWS CLI: a source bucket whose uploads/
# invoke a function, which writes a thumbnail to a second bucket and a row to a DynamoDB
# table. Works against Stratus (default endpoint) and, given no endpoint, against AWS.
#
#   examples/thumbnail/deploy.sh [endpoint]        (default http://127.0.0.1:4566)
#
# Needs npm (the zip carries sharp and its linux-x64 binaries, installed from npm), zip and
# the AWS CLI v2.
set -euo pipefail
ENDPOINT=${1:-http://127.0.0.1:4566}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_PAGER=''
AWS="aws --endpoint-url $ENDPOINT --output text"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${SRC_BUCKET:-thumbnail-uploads} DEST=${DEST_BUCKET:-thumbnail-results} TABLE=${TABLE:-thumbnails}

# The deployment package: the handler and sharp with its linux-x64 binaries.
BUILD=$(mktemp -d)
cp "$HERE/function/index.js" "$HERE/function/package.json" "$BUILD/"
(cd "$BUILD" && npm install --omit=dev --os=linux --cpu=x64 --no-audit --no-fund >/dev/null && zip -qr function.zip .)

$AWS s3 mb "s3://$SRC" && $AWS s3 mb "s3://$DEST"
$AWS dynamodb create-table --table-name "$TABLE" --billing-mode PAY_PER_REQUEST \
  --attribute-definitions AttributeName=name,AttributeType=S \
  --key-schema AttributeName=name,KeyType=HASH >/dev/null
ROLE=$($AWS iam create-role --role-name thumbnail-fn --query Role.Arn --assume-role-policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')
FN=$($AWS lambda create-function --function-name thumbnail --runtime nodejs20.x --handler index.handler \
  --role "$ROLE" --timeout 30 --memory-size 512 --zip-file "fileb://$BUILD/function.zip" \
  --environment "Variables={DEST_BUCKET=$DEST,TABLE_NAME=$TABLE}" --query FunctionArn)
$AWS lambda wait function-active-v2 --function-name thumbnail
$AWS lambda add-permission --function-name thumbnail --statement-id s3 --action lambda:InvokeFunction \
  --principal s3.amazonaws.com --source-arn "arn:aws:s3:::$SRC" >/dev/null
$AWS s3api put-bucket-notification-configuration --bucket "$SRC" --notification-configuration \
  "{\"LambdaFunctionConfigurations\":[{\"LambdaFunctionArn\":\"$FN\",\"Events\":[\"s3:ObjectCreated:*\"],\"Filter\":{\"Key\":{\"FilterRules\":[{\"Name\":\"prefix\",\"Value\":\"uploads/\"}]}}}]}"
rm -rf "$BUILD"
echo "deployed: upload with  aws --endpoint-url $ENDPOINT s3 cp photo.jpg s3://$SRC/uploads/"
