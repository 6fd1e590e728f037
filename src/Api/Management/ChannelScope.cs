using System.Collections.Concurrent;
using Stepcast.Grains.Tenants;

namespace Stepcast.Api.Management;

/// <summary>
/// The tenant boundary of the management API. Every route under <c>/api/v1/channels/{channelId}</c> goes through
/// <see cref="RequireChannelAccess{TBuilder}"/>: a channel that is not the caller's tenant's answers 404, exactly
/// like one that does not exist, so channel ids of other brands do not leak.
/// </summary>
/// <remarks>
/// Another resource attaches to it with <see cref="MapChannelResource"/>, e.g. in <c>CampaignsApi</c>:
/// <code>
/// var campaigns = app.MapChannelResource("/campaigns", "Campaigns");   // /api/v1/channels/{channelId}/campaigns
/// campaigns.MapPost("/", Start).RequireScope(ApiScopes.Send);
/// campaigns.MapGet("/{campaignId}", Get).RequireScope(ApiScopes.Read);
/// </code>
/// The group already requires an authenticated tenant key and checks the channel; each endpoint names its scope
/// (<see cref="ApiAuthorization.RequireScope{TBuilder}"/>). Handlers take <c>string channelId</c> from the route.
/// </remarks>
public static class ChannelScope
{
    public const string RouteParameter = "channelId";
    public const string ChannelsPrefix = "/api/v1/channels/{channelId}";

    /// <summary>A group at <c>/api/v1/channels/{channelId}{resourcePath}</c> that only the channel's tenant reaches.</summary>
    public static RouteGroupBuilder MapChannelResource(this IEndpointRouteBuilder app, string resourcePath, string tag) =>
        app.MapGroup(ChannelsPrefix + resourcePath)
            .WithTags(tag)
            .RequireAuthorization(ApiAuthorization.TenantPolicy)
            .RequireChannelAccess()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

    /// <summary>Answers 404 unless the route's <c>{channelId}</c> belongs to the caller's tenant.</summary>
    public static TBuilder RequireChannelAccess<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var channelId = http.GetRouteValue(RouteParameter) as string;
            var tenantId = ApiClaims.TenantOf(http.User);
            if (channelId is null || tenantId is null
                || !await http.RequestServices.GetRequiredService<ChannelOwnership>().IsOwnedByAsync(channelId, tenantId))
            {
                return ApiProblems.ChannelNotFound(channelId);
            }

            return await next(context);
        });
}

/// <summary>Which tenant owns a channel. An owner never changes, so a positive answer is kept for the process's life.</summary>
public sealed class ChannelOwnership(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<string, string> _owners = new(StringComparer.Ordinal);

    public async ValueTask<bool> IsOwnedByAsync(string channelId, string tenantId)
    {
        if (!_owners.TryGetValue(channelId, out var owner))
        {
            if (await grains.GetGrain<IChannelRegistrationGrain>(channelId).Get() is not { } registration)
            {
                return false;
            }

            owner = _owners.GetOrAdd(channelId, registration.TenantId);
        }

        return owner == tenantId;
    }
}
