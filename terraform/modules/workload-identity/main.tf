resource "azurerm_user_assigned_identity" "this" {
  name                = var.name
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

# One federated credential per service account: Entra ID exchanges that account's projected token
# (issuer = the cluster, subject = system:serviceaccount:<namespace>:<name>) for a token of this
# identity, so pods authenticate without any stored secret.
resource "azurerm_federated_identity_credential" "service_account" {
  for_each = var.service_accounts

  name                = "${each.value.namespace}-${each.value.name}"
  resource_group_name = var.resource_group_name
  parent_id           = azurerm_user_assigned_identity.this.id
  issuer              = var.oidc_issuer_url
  subject             = "system:serviceaccount:${each.value.namespace}:${each.value.name}"
  audience            = ["api://AzureADTokenExchange"]
}

resource "azurerm_role_assignment" "this" {
  for_each = var.role_assignments

  scope                = each.value.scope
  role_definition_name = each.value.role_definition_name
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
  # A new identity may not have replicated through Entra ID yet; skipping the lookup avoids a race.
  skip_service_principal_aad_check = true
}
