using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Tenants;

namespace Stepcast.Api.Management;

public static class ApiClaims
{
    public const string TenantId = "stepcast:tenant";
    public const string KeyId = "stepcast:key";
    public const string Scope = "scope";
    public const string AdminRole = "stepcast-admin";

    public static string? TenantOf(ClaimsPrincipal user) => user.FindFirstValue(TenantId);

    /// <summary>The tenant of a caller that passed a tenant policy.</summary>
    public static string Tenant(ClaimsPrincipal user) =>
        TenantOf(user) ?? throw new InvalidOperationException("The endpoint lacks a tenant authorization policy.");
}

/// <summary>
/// Authenticates management API calls by <c>Authorization: Bearer sk_…</c> (or <c>X-Api-Key: sk_…</c>): the key id
/// finds the key grain, which compares the SHA-256 of the presented key in constant time. The configured bootstrap
/// token authenticates the administrator. Failures answer 401 problem details; neither the key nor the token is
/// ever logged.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IGrainFactory grains,
    IOptions<ManagementOptions> management,
    IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    private const string MissingKey = "missing";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // Only the management API takes keys: webhooks and the sandbox never pay for a lookup.
        if (!Request.Path.StartsWithSegments("/api"))
        {
            return AuthenticateResult.NoResult();
        }

        var presented = PresentedKey();
        if (presented is null)
        {
            Context.Items[SchemeName] = MissingKey;
            return AuthenticateResult.NoResult();
        }

        if (IsBootstrapToken(presented))
        {
            var admin = new ClaimsIdentity([new Claim(ClaimTypes.Role, ApiClaims.AdminRole)], SchemeName);
            return Success(admin);
        }

        if (!ApiKeySecret.TryParse(presented, out var keyId)
            || await grains.GetGrain<IApiKeyGrain>(keyId).Verify(ApiKeySecret.Hash(presented)) is not { } identity)
        {
            return AuthenticateResult.Fail("The API key is not valid.");
        }

        var claims = new List<Claim>
        {
            new(ApiClaims.TenantId, identity.TenantId),
            new(ApiClaims.KeyId, identity.KeyId),
        };
        claims.AddRange(ApiScopes.Names(identity.Scopes).Select(scope => new Claim(ApiClaims.Scope, scope)));
        return Success(new ClaimsIdentity(claims, SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        var missing = Equals(Context.Items[SchemeName], MissingKey);
        await WriteProblemAsync(StatusCodes.Status401Unauthorized, "Unauthorized", missing
            ? "An API key is required: send 'Authorization: Bearer sk_…'."
            : "The API key is not valid or was revoked.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        var scope = Context.GetEndpoint()?.Metadata.GetMetadata<RequiredScope>()?.Name;
        return WriteProblemAsync(StatusCodes.Status403Forbidden, "Forbidden", scope is null
            ? "This credential may not perform this operation."
            : $"This API key lacks the '{scope}' scope this operation needs.");
    }

    private Task WriteProblemAsync(int status, string title, string detail) =>
        problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        }).AsTask();

    private string? PresentedKey()
    {
        string? value = Request.Headers.Authorization;
        if (value is not null && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return value["Bearer ".Length..].Trim();
        }

        value = Request.Headers["X-Api-Key"];
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    private bool IsBootstrapToken(string presented) =>
        management.Value.BootstrapToken is { Length: > 0 } token
        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), SHA256.HashData(Encoding.UTF8.GetBytes(presented)));

    private AuthenticateResult Success(ClaimsIdentity identity) =>
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
}

/// <summary>The scope an endpoint needs, for the 403 problem's text.</summary>
public sealed record RequiredScope(string Name);

public static class ApiAuthorization
{
    public const string AdminPolicy = "admin";
    public const string TenantPolicy = "tenant";

    public static string PolicyFor(string scope) => $"scope:{scope}";

    /// <summary>Requires an API key holding <paramref name="scope"/> (<see cref="ApiScopes"/>).</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(PolicyFor(scope)).WithMetadata(new RequiredScope(scope));

    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services)
    {
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        var authorization = services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, policy => policy.RequireRole(ApiClaims.AdminRole))
            .AddPolicy(TenantPolicy, policy => policy.RequireClaim(ApiClaims.TenantId));
        foreach (var scope in ApiScopes.All)
        {
            authorization.AddPolicy(PolicyFor(scope), policy => policy.RequireClaim(ApiClaims.TenantId).RequireClaim(ApiClaims.Scope, scope));
        }

        return services;
    }
}
