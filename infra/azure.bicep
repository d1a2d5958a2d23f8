// Together on Azure: one resource group holding
//   - a user-assigned managed identity: the bot's identity (BOT_TYPE=UserAssignedMsi) and the identity
//     the code uses for Azure Storage (no secrets anywhere);
//   - a Linux App Service plan and web app on Node 24 (2 instances by default: Together is scale-out safe);
//   - a Storage account for Together's tables, reached only with Entra ID (shared keys off);
//   - a Log Analytics workspace with workspace-based Application Insights, receiving the bot's JSON logs;
//   - the Azure Bot registration with the Teams channel (./botRegistration/azurebot.bicep).
// Adapted from the Microsoft 365 Agents Toolkit's TypeScript bot template (infra/azure.bicep).

@maxLength(20)
@minLength(4)
@description('Used to name every resource in this file (letters, digits and hyphens)')
param resourceBaseName string

@description('Azure region; defaults to the resource group\'s (e.g. uksouth)')
param location string = resourceGroup().location

@maxLength(42)
@description('The bot\'s display name in Azure')
param botDisplayName string = 'Together'

@description('App Service plan SKU. B1 (Basic) is the smallest with Always On, health check and scale-out; choose P0v3 or S1 for deployment slots.')
param webAppSku string = 'B1'

@minValue(1)
@maxValue(10)
@description('Number of web app instances. Together is scale-out safe; 2 keeps it answering while one instance restarts (B1 allows at most 3).')
param instanceCount int = 2

@allowed([ 'Standard_ZRS', 'Standard_LRS' ])
@description('Storage redundancy. ZRS keeps three copies across availability zones, for a few pence a month more than LRS at Together\'s data sizes; use Standard_LRS in a region without availability zones (e.g. ukwest).')
param storageSku string = 'Standard_ZRS'

@minLength(1)
@maxLength(80)
@description('The partnership\'s name, shown on cards (PARTNERSHIP_NAME)')
param partnershipName string

@description('Comma-separated Entra object ids of the first coordinators (COORDINATORS)')
param coordinators string = ''

@minLength(36)
@description('Comma-separated tenant ids of every partner school\'s Microsoft 365 tenant (ALLOWED_TENANTS); defaults to this subscription\'s tenant')
param allowedTenants string = subscription().tenantId

@allowed([ 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent' ])
param logLevel string = 'info'

@description('Requests per second the app may send to Teams, shared by all instances (TEAMS_SEND_RATE)')
param teamsSendRate string = '50'

// Signs the 15-minute CSV download links. Every instance must share it, and with a managed identity
// there is no BOT_PASSWORD to derive it from, so it is a secure parameter. Left unset, it defaults to
// a new random value on each provision: that rotation only invalidates download links handed out
// in the last 15 minutes. Never put it in azure.parameters.json or env/.env.dev.
@secure()
@minLength(32)
@description('Secret (32+ characters) signing download links (LINK_SIGNING_KEY)')
param linkSigningKey string = '${newGuid()}${newGuid()}'

@minValue(30)
@maxValue(730)
@description('Days the logs are kept (30 is included in the ingestion price)')
param logRetentionDays int = 30

var baseName = toLower(resourceBaseName)
// 3-24 lower-case letters and digits, globally unique.
var storageAccountName = take('${replace(baseName, '-', '')}${uniqueString(resourceGroup().id)}', 24)
var webAppName = '${baseName}-${uniqueString(resourceGroup().id)}'
// PUBLIC_URL is the web app's default host name. It is written from the name here because a site's
// settings cannot refer to its own properties; BOT_DOMAIN (from defaultHostName) is the same host.
var publicUrl = 'https://${webAppName}.azurewebsites.net'

var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${baseName}-identity'
  location: location
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
  }
}

// Azure Table storage has no point-in-time restore: guard the account (and with it every table)
// against deletion. Remove the lock first if you ever mean to delete the resource group.
resource storageLock 'Microsoft.Authorization/locks@2020-05-01' = {
  name: 'together-data-do-not-delete'
  scope: storage
  properties: {
    level: 'CanNotDelete'
    notes: 'Together keeps the partnership\'s data in this account\'s tables; there is no point-in-time restore for tables.'
  }
}

// Together creates its tables itself on start (the data-plane role below allows it).
resource tableRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${baseName}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${baseName}-insights'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${baseName}-plan'
  location: location
  kind: 'linux'
  sku: {
    name: webAppSku
    capacity: instanceCount
  }
  properties: {
    reserved: true // Linux
  }
}

resource webApp 'Microsoft.Web/sites@2023-12-01' = {
  name: webAppName
  location: location
  kind: 'app,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false // any instance serves any request
    siteConfig: {
      linuxFxVersion: 'NODE|24-lts'
      appCommandLine: 'node dist/src/main.js'
      alwaysOn: true
      http20Enabled: true
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      healthCheckPath: '/api/health'
      appSettings: [
        {
          name: 'NODE_ENV'
          value: 'production'
        }
        {
          name: 'BOT_ID'
          value: identity.properties.clientId
        }
        {
          name: 'BOT_TYPE'
          value: 'UserAssignedMsi'
        }
        {
          name: 'BOT_TENANT_ID'
          value: tenant().tenantId
        }
        {
          // DefaultAzureCredential picks the bot's user-assigned identity for Azure Storage.
          name: 'AZURE_CLIENT_ID'
          value: identity.properties.clientId
        }
        {
          name: 'STORAGE_ACCOUNT_NAME'
          value: storage.name
        }
        {
          name: 'ALLOWED_TENANTS'
          value: allowedTenants
        }
        {
          name: 'COORDINATORS'
          value: coordinators
        }
        {
          name: 'PARTNERSHIP_NAME'
          value: partnershipName
        }
        {
          name: 'PUBLIC_URL'
          value: publicUrl
        }
        {
          name: 'LINK_SIGNING_KEY'
          value: linkSigningKey
        }
        {
          name: 'LOG_LEVEL'
          value: logLevel
        }
        {
          name: 'TEAMS_SEND_RATE'
          value: teamsSendRate
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          // The deploy step uploads a built package with its production node_modules; run it as is.
          name: 'SCM_DO_BUILD_DURING_DEPLOYMENT'
          value: 'false'
        }
        {
          name: 'WEBSITE_RUN_FROM_PACKAGE'
          value: '1'
        }
      ]
    }
  }
  dependsOn: [
    tableRole
  ]
}

// The bot's pino JSON lines (stdout) and the HTTP access log, into the workspace.
resource webAppDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: webApp
  properties: {
    workspaceId: workspace.id
    logs: [
      {
        category: 'AppServiceConsoleLogs'
        enabled: true
      }
      {
        category: 'AppServiceHTTPLogs'
        enabled: true
      }
    ]
  }
}

module azureBotRegistration './botRegistration/azurebot.bicep' = {
  name: 'Azure-Bot-registration'
  params: {
    botServiceName: '${baseName}-bot-${uniqueString(resourceGroup().id)}'
    botDisplayName: botDisplayName
    identityResourceId: identity.id
    identityClientId: identity.properties.clientId
    identityTenantId: tenant().tenantId
    botAppDomain: webApp.properties.defaultHostName
  }
}

// Persisted into env/.env.<environment> by the Toolkit's arm/deploy (see m365agents.yml).
output BOT_ID string = identity.properties.clientId
output BOT_TENANT_ID string = tenant().tenantId
output BOT_DOMAIN string = webApp.properties.defaultHostName
output BOT_ENDPOINT string = 'https://${webApp.properties.defaultHostName}'
output BOT_AZURE_APP_SERVICE_RESOURCE_ID string = webApp.id
output AZURE_WEB_APP_NAME string = webApp.name
output AZURE_BOT_SERVICE_NAME string = azureBotRegistration.outputs.botServiceName
output STORAGE_ACCOUNT_NAME string = storage.name
output PUBLIC_URL string = publicUrl
