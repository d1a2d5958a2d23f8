// Registers Together's web service as an Azure Bot and connects it to Microsoft Teams.
// Adapted from the Microsoft 365 Agents Toolkit's bot templates: the bot's identity is a
// user-assigned managed identity (no client secret to store or rotate).

@maxLength(42)
@description('Display name of the bot (shown in the Azure portal; people see the Teams app name)')
param botDisplayName string

@minLength(2)
@maxLength(64)
@description('Name of the Azure Bot resource (globally unique)')
param botServiceName string

@allowed([ 'F0', 'S1' ])
@description('F0 is free for the Teams channel (a standard channel); S1 only matters for premium channels')
param botServiceSku string = 'F0'

@description('Resource id of the user-assigned managed identity the bot authenticates as')
param identityResourceId string

@description('Client id of that identity: the bot\'s Microsoft App ID (BOT_ID)')
param identityClientId string

@description('Tenant of that identity (BOT_TENANT_ID)')
param identityTenantId string

@description('Host name serving /api/messages, e.g. together-abc.azurewebsites.net')
param botAppDomain string

resource botService 'Microsoft.BotService/botServices@2022-09-15' = {
  kind: 'azurebot'
  location: 'global'
  name: botServiceName
  sku: {
    name: botServiceSku
  }
  properties: {
    displayName: botDisplayName
    endpoint: 'https://${botAppDomain}/api/messages'
    msaAppId: identityClientId
    msaAppMSIResourceId: identityResourceId
    msaAppTenantId: identityTenantId
    msaAppType: 'UserAssignedMSI'
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: botService
  location: 'global'
  name: 'MsTeamsChannel'
  properties: {
    channelName: 'MsTeamsChannel'
  }
}

output botServiceName string = botService.name
