#!/usr/bin/env bash
# Step of the reusable workflows (plan.yml, deploy.yml, destroy.yml, drift.yml, metaflow-deploy.yml,
# metaflow-destroy.yml): decides which Terraform root module runs and with which variable files and
# variables, and checks that they exist before any Azure credential is minted, so a typo fails in
# seconds with the input's name.
#
# Environment (set by the workflow step from its inputs):
#   ENVIRONMENT      the environment being planned or deployed (also the GitHub Environment)
#   IDENTIFIER       the deployment identifier (names the remote state and the bundled stacks' resources)
#   STACK_DIRECTORY  the caller's root module, relative to the repository root; empty = the bundled
#                    stack of this release (BUNDLED_STACK)
#   BUNDLED_STACK    where the workflow checked out one of this repository's stacks:
#                    <checkout>/terraform/stacks/<stack>. <stack> (bakery, metaflow/infra,
#                    metaflow/services) is also the stack name that setup-remote-state puts in the
#                    state's blob key; it decides what the bundled stack gets from the workflow.
#   VAR_FILES        .tfvars files relative to the repository root, one per line or comma-separated;
#                    {environment} stands for ENVIRONMENT
#   VARIABLES        extra name=value lines for Terraform; {environment} stands for ENVIRONMENT
#   DEPLOYER_OBJECT_ID  object ID of the environment's deploy identity (optional); the bundled stacks
#                    that create grants (bakery, metaflow/infra) give them to it, whoever runs the plan
# Step outputs: working-directory, var-files (absolute paths, one per line), variables, and for a
# bundled stack that owns a resource group and an AKS cluster (bakery, metaflow/infra) resource-group
# and cluster-name (the names its conventions module gives them, so that destroy can remove the
# Prefect worker's namespace before Terraform runs; empty for other stacks).
set -euo pipefail

fail() {
  # $1: the workflow input at fault, $2: what is wrong and how to fix it.
  echo "::error title=Input ${1}::${2}"
  exit 1
}

: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: run this as a workflow step}"
workspace=${GITHUB_WORKSPACE:-$PWD}
environment=${ENVIRONMENT:-}
identifier=${IDENTIFIER:-}

# The environment becomes part of file names and the state's blob key: keep it to a safe alphabet.
if [[ ! $environment =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]]; then
  fail environment "'${environment}' is not a usable environment name: use letters, digits, '-', '_' or '.', starting with a letter or digit (e.g. dev, staging, prod)."
fi
if [[ -z $identifier ]]; then
  fail identifier "identifier is empty: pass the deployment identifier (1-10 lowercase letters or digits) that names the remote state, e.g. identifier: contoso01."
fi

deployer_object_id=${DEPLOYER_OBJECT_ID:-}
if [[ -n $deployer_object_id && ! $deployer_object_id =~ ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$ ]]; then
  fail deployer-object-id "'${deployer_object_id}' is not an object ID (a GUID): use the deploy identity's object (principal) ID, e.g. from az identity show --query principalId, not its client ID."
fi

bundled_stack=${BUNDLED_STACK:?BUNDLED_STACK is not set}
bundled_stack=${bundled_stack%/}
if [[ $bundled_stack != */terraform/stacks/* ]]; then
  echo "::error::BUNDLED_STACK '${bundled_stack}' is not <checkout>/terraform/stacks/<stack>: the workflow that runs this step is wrong."
  exit 1
fi
stacks_root=${bundled_stack%%/terraform/stacks/*}/terraform/stacks
stack=${bundled_stack#"${stacks_root}/"}
# The stack name reaches the path from a workflow input (plan.yml's stack): one or two plain names,
# as setup-remote-state accepts them, so it cannot point outside the checkout.
if [[ ! $stack =~ ^[a-z]([a-z0-9-]*[a-z0-9])?(/[a-z]([a-z0-9-]*[a-z0-9])?)?$ ]]; then
  fail stack "'${stack}' is not a stack name: use lowercase letters, digits and hyphens, with at most one '/', e.g. bakery or metaflow/infra."
fi

# What each bundled stack takes from the workflow. bakery and metaflow/infra name their resources
# after identifier and environment through terraform/modules/conventions (workload bakery or
# metaflow) and grant the deploy identity; metaflow/services declares none of these (it reads
# metaflow/infra's state) and Terraform refuses a -var that a root module does not declare.
case $stack in
  bakery) stack_title='the Bakery stack' workload=bakery ;;
  metaflow/infra) stack_title='the metaflow/infra stack' workload=metaflow ;;
  *) stack_title="the ${stack} stack" workload='' ;;
esac

if [[ -n ${STACK_DIRECTORY:-} ]]; then
  working_directory=${STACK_DIRECTORY%/}
  if [[ $working_directory == /* || $working_directory == .. || $working_directory == ../* || $working_directory == */../* ]]; then
    fail working-directory "'${STACK_DIRECTORY}' leaves the repository: give the root module's folder relative to the repository root, e.g. infra/bakery."
  fi
  bundled=false
else
  working_directory=$bundled_stack
  bundled=true
fi
if ! compgen -G "${workspace}/${working_directory}/*.tf" >/dev/null; then
  if [[ $bundled == true ]]; then
    # Either the stack name is not one of this release's stacks, or the checkout did not bring it.
    available=$(
      cd "${workspace}/${stacks_root}" 2>/dev/null || exit 0
      shopt -s globstar nullglob
      for file in **/*.tf; do printf '%s\n' "${file%/*}"; done | sort -u | paste -sd ',' | sed 's/,/, /g'
    )
    if [[ -z $available ]]; then
      fail working-directory "${stack_title} was not found at ${working_directory}: the checkout of azure-bakery-actions did not bring terraform/stacks/${stack}. Re-run the job; if it persists, pass working-directory with your own root module."
    fi
    fail stack "${stack_title} was not found at ${working_directory}: this release's stacks are ${available}. Set stack to one of them, or pass working-directory with your own root module."
  fi
  fail working-directory "'${working_directory}' has no Terraform files (*.tf): set working-directory to the folder of your root module relative to the repository root, or leave it empty to deploy ${stack_title} of this release."
fi

var_files=()
while IFS= read -r entry; do
  entry=${entry#"${entry%%[![:space:]]*}"}
  entry=${entry%"${entry##*[![:space:]]}"}
  [[ -z $entry || $entry == \#* ]] && continue
  entry=${entry//\{environment\}/$environment}
  if [[ $entry == /* ]]; then
    file=$entry
  else
    file="${workspace}/${entry}"
  fi
  if [[ ! -f $file ]]; then
    fail var-files "'${entry}' does not exist in the repository: var-files are relative to the repository root ({environment} stands for '${environment}'); create it or change var-files."
  fi
  var_files+=("$file")
done < <(printf '%s\n' "${VAR_FILES:-}" | tr ',' '\n')

variables=()
if [[ $bundled == true && -n $workload ]]; then
  # The stack names its resources after identifier and environment; they must be the same values
  # that name the remote state, so the workflow sets them and they win over any var file.
  variables+=("identifier=${identifier}" "environment=${environment}")
  # Without it, a plan grants whoever made it: a pull request's or drift check's plan identity.
  if [[ -n $deployer_object_id ]]; then variables+=("deployer_object_id=${deployer_object_id}"); fi
fi
while IFS= read -r line; do
  [[ -z ${line//[[:space:]]/} || $line =~ ^[[:space:]]*# ]] && continue
  if [[ ! $line =~ ^[[:space:]]*[A-Za-z_][A-Za-z0-9_-]*[[:space:]]*= ]]; then
    fail variables "'${line}' is not a name=value line: give one Terraform variable per line, e.g. owner=data-platform-team."
  fi
  variables+=("${line//\{environment\}/$environment}")
done <<<"${VARIABLES:-}"

resource_group=''
cluster_name=''
if [[ $bundled == true && -n $workload ]]; then
  # terraform/modules/conventions: rg-<qualifier> and aks-<qualifier>, qualifier <workload>-<identifier>-<environment>.
  resource_group="rg-${workload}-${identifier}-${environment}"
  cluster_name="aks-${workload}-${identifier}-${environment}"
fi

# A random delimiter: the values come from workflow inputs and must not be able to end the block early.
delimiter="EOF_$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
{
  echo "working-directory=${working_directory}"
  echo "resource-group=${resource_group}"
  echo "cluster-name=${cluster_name}"
  echo "var-files<<${delimiter}"
  if ((${#var_files[@]})); then printf '%s\n' "${var_files[@]}"; fi
  echo "${delimiter}"
  echo "variables<<${delimiter}"
  if ((${#variables[@]})); then printf '%s\n' "${variables[@]}"; fi
  echo "${delimiter}"
} >>"$GITHUB_OUTPUT"

echo "Terraform root module: ${working_directory}$([[ $bundled == true ]] && echo " (${stack_title} of this release)")"
echo "Variable files: ${#var_files[@]}; variables: ${#variables[@]}"
