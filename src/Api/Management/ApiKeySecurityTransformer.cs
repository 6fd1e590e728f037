using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Stepcast.Api.Management;

/// <summary>Declares the bearer API key in the OpenAPI document, so the reference page can send it.</summary>
internal sealed class ApiKeySecurityTransformer : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.Title = "Stepcast management API";
        document.Info.Description = "Step delivery for LINE Official Accounts. Authenticate with 'Authorization: Bearer sk_…' (an API key of your tenant); errors are RFC 7807 problem details.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["apiKey"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key, sk_{keyId}_{secret}; or the bootstrap token for /api/v1/tenants.",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("apiKey", document)] = [] });
        return Task.CompletedTask;
    }
}
