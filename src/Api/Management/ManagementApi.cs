using Microsoft.Extensions.DependencyInjection.Extensions;
using Scalar.AspNetCore;
using Stepcast.Api.Quota;

namespace Stepcast.Api.Management;

/// <summary>
/// The management API under <c>/api/v1</c>: API-key authentication, per-tenant channel access, the OpenAPI document
/// at <c>/openapi/v1.json</c> and its interactive reference at <c>/api/reference</c>.
/// </summary>
public static class ManagementApi
{
    public const string DocumentName = "v1";

    public static WebApplicationBuilder AddManagementApi(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<ManagementOptions>(builder.Configuration.GetSection(ManagementOptions.SectionName));
        builder.Services.AddApiKeyAuthentication();
        builder.Services.TryAddSingleton<ChannelOwnership>();
        builder.Services.AddOpenApi(DocumentName, options => options.AddDocumentTransformer<ApiKeySecurityTransformer>());
        return builder;
    }

    public static WebApplication MapManagementApi(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi();
        // The page's script is served from the Scalar package itself, so the reference works offline.
        app.MapScalarApiReference("/api/reference", options => options
            .WithTitle("Stepcast management API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json"));
        app.MapTenantsApi();
        app.MapChannelsApi();
        app.MapScenariosApi();
        app.MapEventsApi();
        app.MapMembersApi();
        app.MapFriendsApi();
        app.MapQuotaApi();
        return app;
    }
}
