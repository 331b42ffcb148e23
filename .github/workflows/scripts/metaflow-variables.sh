#!/usr/bin/env bash
# Step of metaflow-deploy.yml and metaflow-destroy.yml, and of plan.yml and drift.yml with
# infra-state-stack: the Terraform variables of the Metaflow stack's two root modules, metaflow/infra
# and metaflow/services (which reads infra's state).
#
# Environment (set by the workflow step):
#   INFRA_VARIABLES             name=value lines for metaflow/infra (resolve-stack.sh's variables output)
#   SERVICES_VARIABLES          name=value lines for metaflow/services (resolve-stack.sh's variables output)
#   SERVICES_VARIABLES_INPUT    the workflow input they came from, named in errors (default services-variables)
#   INFRA_STATE_RESOURCE_GROUP, INFRA_STATE_STORAGE_ACCOUNT, INFRA_STATE_CONTAINER, INFRA_STATE_KEY
#                               where metaflow/infra's state lives: setup-remote-state's outputs for it
#   KUBELOGIN_VERSION           the kubelogin release the job installs
#   EXPORT_TF_VARS              true: also write TF_VAR_<name> for every variable of both modules to
#                               $GITHUB_ENV (see below)
# Step output: services-variables — SERVICES_VARIABLES plus infra_state_* (so services reads the state
# that infra was just planned or applied against) and kubelogin_login_mode=workloadidentity.
#
# Why TF_VAR_ for deploy and destroy: they run both root modules in one step with one `variables`
# input, and Terraform refuses a -var that the root module does not declare (identifier in services,
# infra_state_key in infra) but ignores a TF_VAR_ one. A deploy only needs them to re-plan before a
# retry; a destroy plans every time.
#
# Why workloadidentity: kubelogin (v0.2.0 and later) in that mode asks GitHub for a fresh OIDC token
# (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN) whenever it needs an Entra token, with AZURE_CLIENT_ID and
# AZURE_TENANT_ID from the step. A token file or an `az login` would hold a GitHub token that expires
# after five minutes, shorter than an apply of the infrastructure before the services.
set -euo pipefail

fail() {
  # $1: the error's title (the input at fault), $2: what is wrong and how to fix it.
  echo "::error title=${1}::${2}"
  exit 1
}

: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: run this as a workflow step}"

kubelogin_version=${KUBELOGIN_VERSION:-}
if [[ ! $kubelogin_version =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]; then
  fail "Input kubelogin-version" "'${kubelogin_version}' is not a kubelogin release tag: use one such as v0.2.19 (github.com/Azure/kubelogin/releases)."
fi
if ((BASH_REMATCH[1] == 0 && BASH_REMATCH[2] < 2)); then
  fail "Input kubelogin-version" "${kubelogin_version} cannot use the job's GitHub OIDC token (login mode workloadidentity does that from v0.2.0 on): use v0.2.0 or later, e.g. v0.2.19."
fi

declare -A infra_state=(
  [infra_state_resource_group_name]=${INFRA_STATE_RESOURCE_GROUP:-}
  [infra_state_storage_account_name]=${INFRA_STATE_STORAGE_ACCOUNT:-}
  [infra_state_container_name]=${INFRA_STATE_CONTAINER:-}
  [infra_state_key]=${INFRA_STATE_KEY:-}
)
# The order Terraform shows them in: the services stack's variables.tf.
state_names=(infra_state_resource_group_name infra_state_storage_account_name infra_state_container_name infra_state_key)
for name in "${state_names[@]}"; do
  if [[ -z ${infra_state[$name]} ]]; then
    fail "Infra state" "${name} would be empty: the setup-remote-state step for metaflow/infra gave no value for it. Check that step's outputs; nothing was planned or applied."
  fi
done

# name=value lines → names[] and values[] (whitespace around the name and the value dropped, as the
# plan action reads its variables input). $1: the lines, $2: the input they came from.
names=()
values=()
parse() {
  local line
  names=()
  values=()
  while IFS= read -r line; do
    [[ -z ${line//[[:space:]]/} || $line =~ ^[[:space:]]*# ]] && continue
    if [[ ! $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_-]*)[[:space:]]*=(.*)$ ]]; then
      fail "Input ${2}" "'${line}' is not a name=value line: give one Terraform variable per line."
    fi
    local value=${BASH_REMATCH[2]}
    value=${value#"${value%%[![:space:]]*}"}
    value=${value%"${value##*[![:space:]]}"}
    names+=("${BASH_REMATCH[1]}")
    values+=("$value")
  done <<<"${1}"
}

services_input=${SERVICES_VARIABLES_INPUT:-services-variables}
services_lines=()
parse "${SERVICES_VARIABLES:-}" "$services_input"
services_names=("${names[@]}")
services_values=("${values[@]}")
for index in "${!services_names[@]}"; do
  name=${services_names[$index]}
  if [[ -n ${infra_state[$name]+set} || $name == kubelogin_login_mode ]]; then
    fail "Input ${services_input}" "'${name}' is set by the workflow (from metaflow/infra's remote state, and the login mode that works with GitHub OIDC): remove it from ${services_input}."
  fi
  services_lines+=("${name}=${services_values[$index]}")
done
for name in "${state_names[@]}"; do services_lines+=("${name}=${infra_state[$name]}"); done
services_lines+=("kubelogin_login_mode=workloadidentity")

# A random delimiter: the values come from workflow inputs and must not be able to end a block early.
delimiter="EOF_$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
{
  echo "services-variables<<${delimiter}"
  printf '%s\n' "${services_lines[@]}"
  echo "${delimiter}"
} >>"$GITHUB_OUTPUT"
echo "metaflow/services reads metaflow/infra's state at ${infra_state[infra_state_storage_account_name]}/${infra_state[infra_state_container_name]}/${infra_state[infra_state_key]}; kubelogin ${kubelogin_version}, login mode workloadidentity."

if [[ ${EXPORT_TF_VARS:-false} != true ]]; then exit 0; fi

: "${GITHUB_ENV:?GITHUB_ENV is not set: run this as a workflow step}"
# Both modules' variables share one TF_VAR_ namespace here: one name with two values would give one
# of the modules a value it was not planned with, so that is refused rather than guessed.
declare -A exported=()
export_lines=()
add_export() {
  local name=$1 value=$2 from=$3
  if [[ -n ${exported[$name]+set} ]]; then
    if [[ ${exported[$name]} != "$value" ]]; then
      fail "Input ${from}" "'${name}' has different values for metaflow/infra and metaflow/services, which this step passes to both as TF_VAR_${name}: rename it in one of the stacks, or give both the same value."
    fi
    return
  fi
  exported[$name]=$value
  export_lines+=("$name")
}
parse "${INFRA_VARIABLES:-}" infra-variables
for index in "${!names[@]}"; do add_export "${names[$index]}" "${values[$index]}" infra-variables; done
for line in "${services_lines[@]}"; do add_export "${line%%=*}" "${line#*=}" "$services_input"; done

{
  for name in "${export_lines[@]}"; do
    echo "TF_VAR_${name}<<${delimiter}"
    echo "${exported[$name]}"
    echo "${delimiter}"
  done
} >>"$GITHUB_ENV"
echo "Passed ${#export_lines[@]} Terraform variables to both root modules as TF_VAR_*: ${export_lines[*]}"
