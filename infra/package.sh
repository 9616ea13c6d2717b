#!/usr/bin/env bash
# Build, deploy or delete the one-stack deployment (table + stream consumer). See docs/deploy.md.
#
#   infra/package.sh build [OUTDIR]   offline: OUTDIR/sam.json + OUTDIR/deployment.zip (default build)
#   infra/package.sh deploy           aws cloudformation package + deploy (needs AWS credentials)
#   infra/package.sh delete           delete the stack AND its tables' data (asks for CONFIRM)
#
# Settings (environment): STAGE (Chalice stage, default dev), STACK_NAME (default
# users-stream-$STAGE), for deploy: S3_BUCKET (artifact bucket, required), WELCOME_EMAIL_SENDER
# (required), PARAMETER_OVERRIDES (extra Key=Value pairs, e.g. "SesIdentity=example.com").
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
STAGE=${STAGE:-dev}
STACK_NAME=${STACK_NAME:-users-stream-$STAGE}

build() {
    local out=${1:-build}
    mkdir -p "$out"
    out=$(cd "$out" && pwd)  # Chalice resolves paths from the staged project directory
    rm -f "$out/sam.json" "$out/deployment.zip" "$out/merge-template.json" "$out/packaged.yaml"
    # Chalice zips all of chalicelib/, bytecode included: package a clean copy instead.
    STAGED=$(mktemp -d "${TMPDIR:-/tmp}/users-stream-package.XXXXXX")
    trap 'rm -rf "$STAGED"' EXIT
    # --for-package: the `chalice deploy` way's role settings in config.json stay out of it.
    "$BIN/python" -m infra.staging --for-package "$STAGED" >/dev/null
    "$BIN/python" -m infra.merge --output "$out/merge-template.json" >/dev/null
    # Offline: the region only fills Chalice's placeholders; the stack resolves its own.
    AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} PYTHONDONTWRITEBYTECODE=1 \
        "$BIN/chalice" --project-dir "$STAGED" package --stage "$STAGE" \
        --merge-template "$out/merge-template.json" "$out"
    echo "deployable template: $out/sam.json (code: $out/deployment.zip)"
}

deploy() {
    : "${S3_BUCKET:?set S3_BUCKET to an S3 bucket for the deployment package}"
    : "${WELCOME_EMAIL_SENDER:?set WELCOME_EMAIL_SENDER to an SES-verified address}"
    # Before anything is uploaded or created: one line and exit 1 on a bad sender or bucket.
    # The region is the AWS CLI's own (environment, then profile): never a silent default.
    local identity
    identity=$(printf '%s\n' ${PARAMETER_OVERRIDES:-} | sed -n 's/^SesIdentity=//p')
    "$BIN/python" -m infra.preflight --sender "$WELCOME_EMAIL_SENDER" --bucket "$S3_BUCKET" \
        --check-identity --ses-identity "$identity"
    build build
    "$BIN/aws" cloudformation package --template-file build/sam.json \
        --s3-bucket "$S3_BUCKET" --output-template-file build/packaged.yaml
    # --no-fail-on-empty-changeset: the build is deterministic, so re-running with nothing
    # changed is a success, not an error. The stack's tags reach every resource that has tags.
    # shellcheck disable=SC2086 # PARAMETER_OVERRIDES is a list of Key=Value words
    "$BIN/aws" cloudformation deploy --template-file build/packaged.yaml \
        --stack-name "$STACK_NAME" --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
        --no-fail-on-empty-changeset --tags project=users-stream "stage=$STAGE" \
        --parameter-overrides "WelcomeEmailSender=$WELCOME_EMAIL_SENDER" "Stage=$STAGE" \
        ${PARAMETER_OVERRIDES:-}
    "$BIN/aws" cloudformation describe-stacks --stack-name "$STACK_NAME" \
        --query 'Stacks[0].Outputs' --output table
}

output() {
    "$BIN/aws" cloudformation describe-stacks --stack-name "$STACK_NAME" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

delete() {
    if [[ "${CONFIRM:-}" != "$STACK_NAME" ]]; then
        echo "This deletes $STACK_NAME with the Users table and the ledger, data included." >&2
        echo "Run again with CONFIRM=$STACK_NAME to go ahead." >&2
        exit 2
    fi
    local table
    for table in "$(output TableName)" "$(output LedgerTableName)"; do
        "$BIN/aws" dynamodb update-table --table-name "$table" \
            --no-deletion-protection-enabled --output text --query 'TableDescription.TableName'
    done
    "$BIN/aws" cloudformation delete-stack --stack-name "$STACK_NAME"
    "$BIN/aws" cloudformation wait stack-delete-complete --stack-name "$STACK_NAME"
    echo "deleted $STACK_NAME"
}

case "${1:-}" in
    build) build "${2:-build}" ;;
    deploy) deploy ;;
    delete) delete ;;
    *) echo "usage: $0 build [OUTDIR] | deploy | delete" >&2; exit 2 ;;
esac
