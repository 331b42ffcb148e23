#!/usr/bin/env bash
# Step of destroy.yml and metaflow-destroy.yml (their guard job): refuses a teardown unless `confirm`
# is exactly the environment's name and, for an environment that matches one of the protected
# patterns, allow-protected is true. The guard job runs it before any reviewer is asked to approve and
# before any Azure token exists; the destroy action checks the same again itself.
#
# Environment (set by the workflow step from its inputs):
#   ENVIRONMENT             the environment to destroy
#   CONFIRM                 must equal ENVIRONMENT (case-sensitive)
#   PROTECTED_ENVIRONMENTS  glob patterns, one per line or comma-separated (prod* matches prod and prod-eu)
#   ALLOW_PROTECTED         true to destroy an environment that matches one of them
set -euo pipefail

environment=${ENVIRONMENT:-}
confirm=${CONFIRM:-}
if [[ -z $environment ]]; then
  echo "::error title=Input environment::environment is empty: name the environment to destroy."
  exit 1
fi
if [[ $confirm != "$environment" ]]; then
  echo "::error title=Input confirm::confirm must be exactly '${environment}' to destroy it; it is '${confirm}'. Nothing was destroyed."
  exit 1
fi
while IFS= read -r pattern; do
  pattern=${pattern//[[:space:]]/}
  [[ -z $pattern ]] && continue
  # Unquoted on purpose: the pattern is a glob.
  # shellcheck disable=SC2053
  if [[ $environment == $pattern ]]; then
    if [[ ${ALLOW_PROTECTED:-false} != true ]]; then
      echo "::error title=Protected environment::'${environment}' matches the protected pattern '${pattern}'. Set allow-protected: true in the calling workflow to destroy it. Nothing was destroyed."
      exit 1
    fi
    echo "::warning title=Protected environment::'${environment}' matches '${pattern}' and allow-protected is true: destroying it."
  fi
done < <(printf '%s\n' "${PROTECTED_ENVIRONMENTS:-}" | tr ',' '\n')
echo "Destroying '${environment}' is confirmed; waiting for the environment's protection rules next."
