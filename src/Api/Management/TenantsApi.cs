using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Stepcast.Grains.Tenants;

namespace Stepcast.Api.Management;

/// <summary>
/// Tenants (brands) and their API keys. The administrator (the bootstrap token) creates a tenant and its first key;
/// from then on the tenant manages its own keys with a key of its own.
/// </summary>
public static class TenantsApi
{
    public sealed record CreateTenantRequest(string? TenantId, string? Name);

    public sealed record CreateApiKeyRequest(string? Name, string[]? Scopes);

    public sealed record TenantResponse(string TenantId, string Name, DateTimeOffset CreatedAt, int ChannelCount);

    public sealed record ApiKeyResponse(string KeyId, string? Name, string[] Scopes, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

    /// <param name="Key">The whole key. It is shown this once and stored only as a hash: keep it in a secret store.</param>
    public sealed record CreatedApiKeyResponse(string KeyId, string Key, string? Name, string[] Scopes, DateTimeOffset CreatedAt)
    {
        public override string ToString() => $"CreatedApiKeyResponse {{ KeyId = {KeyId}, Key = *** }}";
    }

    public static IEndpointRouteBuilder MapTenantsApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/v1/tenants").WithTags("Tenants")
            .RequireAuthorization(ApiAuthorization.AdminPolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        admin.MapPost("", CreateTenant).WithName("CreateTenant")
            .WithSummary("Creates a tenant (bootstrap token only)");
        admin.MapPost("/{tenantId}/api-keys", CreateFirstKey).WithName("CreateTenantApiKey")
            .WithSummary("Issues an API key for a tenant (bootstrap token only)");

        var self = app.MapGroup("/api/v1/tenant").WithTags("Tenants")
            .RequireAuthorization(ApiAuthorization.TenantPolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        self.MapGet("", GetOwnTenant).WithName("GetTenant").WithSummary("The API key's tenant").RequireScope(ApiScopes.Read);
        self.MapGet("/api-keys", ListKeys).WithName("ListApiKeys").WithSummary("The tenant's API keys (never their secrets)").RequireScope(ApiScopes.Read);
        self.MapPost("/api-keys", CreateOwnKey).WithName("CreateApiKey")
            .WithSummary("Issues another API key, with at most the scopes of the calling key").RequireScope(ApiScopes.Write);
        self.MapDelete("/api-keys/{keyId}", RevokeKey).WithName("RevokeApiKey").WithSummary("Revokes an API key").RequireScope(ApiScopes.Write);
        return app;
    }

    private static async Task<Results<Created<TenantResponse>, ValidationProblem, ProblemHttpResult>> CreateTenant(CreateTenantRequest body, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        errors.Identifier("tenantId", body.TenantId, 64);
        errors.Required("name", body.Name);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var tenant = grains.GetGrain<ITenantGrain>(body.TenantId!);
        if (!await tenant.Create(body.Name!.Trim()))
        {
            return ApiProblems.Conflict($"Tenant '{body.TenantId}' already exists.");
        }

        var view = (await tenant.Get())!;
        return TypedResults.Created($"/api/v1/tenant", ToResponse(view));
    }

    private static async Task<Results<Created<CreatedApiKeyResponse>, ValidationProblem, ProblemHttpResult>> CreateFirstKey(
        string tenantId, CreateApiKeyRequest body, IGrainFactory grains)
    {
        var tenant = grains.GetGrain<ITenantGrain>(tenantId);
        if (await tenant.Get() is null)
        {
            return ApiProblems.NotFound($"There is no tenant '{tenantId}'.");
        }

        return await IssueAsync(tenant, body, ApiScope.Read | ApiScope.Write | ApiScope.Send);
    }

    private static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> GetOwnTenant(ClaimsPrincipal user, IGrainFactory grains) =>
        await grains.GetGrain<ITenantGrain>(ApiClaims.Tenant(user)).Get() is { } view
            ? TypedResults.Ok(ToResponse(view))
            : ApiProblems.NotFound("The tenant no longer exists.");

    private static async Task<Ok<ApiKeyResponse[]>> ListKeys(ClaimsPrincipal user, IGrainFactory grains) =>
        TypedResults.Ok((await grains.GetGrain<ITenantGrain>(ApiClaims.Tenant(user)).ListApiKeys()).Select(ToResponse).ToArray());

    private static async Task<Results<Created<CreatedApiKeyResponse>, ValidationProblem, ProblemHttpResult>> CreateOwnKey(
        CreateApiKeyRequest body, ClaimsPrincipal user, IGrainFactory grains)
    {
        var held = user.FindAll(ApiClaims.Scope).Aggregate(ApiScope.None, (all, claim) =>
            ApiScopes.TryParse(claim.Value, out var scope) ? all | scope : all);
        return await IssueAsync(grains.GetGrain<ITenantGrain>(ApiClaims.Tenant(user)), body, held);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeKey(string keyId, ClaimsPrincipal user, IGrainFactory grains) =>
        await grains.GetGrain<ITenantGrain>(ApiClaims.Tenant(user)).RevokeApiKey(keyId)
            ? TypedResults.NoContent()
            : ApiProblems.NotFound($"This tenant has no API key '{keyId}'.");

    private static async Task<Results<Created<CreatedApiKeyResponse>, ValidationProblem, ProblemHttpResult>> IssueAsync(
        ITenantGrain tenant, CreateApiKeyRequest body, ApiScope grantable)
    {
        var errors = new FieldErrors();
        var scopes = ApiScope.None;
        if (body.Scopes is not { Length: > 0 })
        {
            errors.Add("scopes", $"'scopes' must list at least one of {string.Join(", ", ApiScopes.All)}.");
        }
        else
        {
            for (var i = 0; i < body.Scopes.Length; i++)
            {
                if (!ApiScopes.TryParse(body.Scopes[i], out var scope))
                {
                    errors.Add($"scopes[{i}]", $"Unknown scope '{body.Scopes[i]}'; use {string.Join(", ", ApiScopes.All)}.");
                }
                else if (!grantable.HasFlag(scope))
                {
                    errors.Add($"scopes[{i}]", $"A key can only grant scopes it holds itself, not '{body.Scopes[i]}'.");
                }
                else
                {
                    scopes |= scope;
                }
            }
        }

        if (body.Name is { Length: > 100 })
        {
            errors.Add("name", "'name' must be at most 100 characters.");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var created = await tenant.CreateApiKey(body.Name, scopes);
        return TypedResults.Created($"/api/v1/tenant/api-keys/{created.Info.KeyId}", new CreatedApiKeyResponse(
            created.Info.KeyId, created.Key, created.Info.Name, ApiScopes.Names(created.Info.Scopes), created.Info.CreatedAt));
    }

    private static TenantResponse ToResponse(TenantView view) => new(view.TenantId, view.Name, view.CreatedAt, view.ChannelCount);

    private static ApiKeyResponse ToResponse(ApiKeyView key) =>
        new(key.KeyId, key.Name, ApiScopes.Names(key.Scopes), key.CreatedAt, key.RevokedAt);
}
