#!/usr/bin/env bash
# Template gate for lightsail-jit (called by .ci/run as `bash scripts/ci_template.sh`).
#
#   1. cfn-lint template.yaml                 - no errors, no warnings (informational too)
#   2. SAM transform -> plain CloudFormation, then cfn-lint on that: catches what the
#      direct lint cannot see inside SAM event sources (bad enum values, dangling
#      !GetAtt in events, visibility timeout vs function timeout, ...)
#   3. scripts/check_template.py              - security and wiring properties
#      (--translated on the transform's output, --self-test: every check can fail)
#
# Needs only Python 3 and PyPI: no AWS credentials, no other network. Idempotent: the
# venv in ${TMPDIR:-/tmp}/lightsail-jit-cfn is created once and reused.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned so a new cfn-lint rule cannot turn CI red on its own; bump deliberately.
CFN_LINT_VERSION="1.58.0"
SAM_TRANSLATOR_VERSION="1.115.0"

venv="${TMPDIR:-/tmp}/lightsail-jit-cfn"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
if ! "$py" - "$CFN_LINT_VERSION" "$SAM_TRANSLATOR_VERSION" <<'EOF' 2>/dev/null; then
import sys
from importlib.metadata import version
sys.exit(0 if (version("cfn-lint"), version("aws-sam-translator")) == tuple(sys.argv[1:3]) else 1)
EOF
  "$py" -m pip install --quiet --disable-pip-version-check \
    "cfn-lint==$CFN_LINT_VERSION" "aws-sam-translator==$SAM_TRANSLATOR_VERSION"
fi
cfn_lint="$venv/bin/cfn-lint"
"$cfn_lint" --version

work="$(mktemp -d "${TMPDIR:-/tmp}/lightsail-jit-template.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "== cfn-lint template.yaml"
# rc 0 only when there is no error (2), warning (4) or informational finding (8).
"$cfn_lint" --include-checks I -t template.yaml
echo "cfn-lint: no findings"

echo "== SAM transform (offline) + cfn-lint on the result"
# The translator only accepts packaged code, so the local CodeUri becomes a placeholder
# S3 URI (what `sam package` would upload); no AWS call is made.
AWS_DEFAULT_REGION=us-east-1 "$py" - template.yaml >"$work/translated.json" <<'EOF'
import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def load(self):
        return {}


with open(sys.argv[1]) as f:
    template = yaml_parse(f.read())
for resource in template.get("Resources", {}).values():
    props = resource.get("Properties") or {}
    if resource.get("Type") == "AWS::Serverless::Function" and not str(props.get("CodeUri", "")).startswith("s3://"):
        props["CodeUri"] = "s3://placeholder-bucket/code.zip"
out = transform(template, {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}, NoManagedPolicies())
json.dump(out, sys.stdout, indent=1, default=str)
EOF
"$cfn_lint" --include-checks I -t "$work/translated.json"
echo "cfn-lint (translated): no findings"

echo "== check_template.py"
"$py" scripts/check_template.py template.yaml
"$py" scripts/check_template.py --translated "$work/translated.json"
"$py" scripts/check_template.py --self-test template.yaml
