using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using ValidationProblem = Microsoft.AspNetCore.Http.HttpResults.ValidationProblem;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Quota;
using Stepcast.Grains.Tenants;

namespace Stepcast.Api.Management;

/// <summary>
/// LINE channels of the caller's tenant. The channel secret and access token are write-only: accepted here,
/// never returned (responses say only whether a token is set) and never logged.
/// </summary>
public static class ChannelsApi
{
    /// <param name="Plan">LINE plan: <c>communication</c> (default), <c>light</c> or <c>standard</c>.</param>
    /// <param name="ExtraMessageCap">Paid messages a month beyond the plan's free ones (standard only).</param>
    /// <param name="WhenExhausted"><c>pause</c> (default) or <c>skip</c> sends once the month's budget is spent.</param>
    public sealed record RegisterChannelRequest(
        string? ChannelId, string? ChannelSecret, string? AccessToken, string? Plan, string? TimeZone,
        long? ExtraMessageCap, string? WhenExhausted, int[]? AlertThresholds)
    {
        public override string ToString() => $"RegisterChannelRequest {{ ChannelId = {ChannelId}, ChannelSecret = ***, AccessToken = *** }}";
    }

    public sealed record RotateAccessTokenRequest(string? AccessToken)
    {
        public override string ToString() => "RotateAccessTokenRequest { AccessToken = *** }";
    }

    public sealed record ChannelResponse(
        string ChannelId, string TimeZone, string Plan, long ExtraMessageCap, string WhenExhausted, int[] AlertThresholds,
        bool HasAccessToken, DateTimeOffset RegisteredAt, DateTimeOffset UpdatedAt);

    /// <summary>A channel registered without a plan starts on the smallest LINE plan, not unlimited.</summary>
    private static readonly QuotaSettings RegistrationDefaults = new() { Plan = LinePlan.Communication };

    public static IEndpointRouteBuilder MapChannelsApi(this IEndpointRouteBuilder app)
    {
        var channels = app.MapGroup("/api/v1/channels").WithTags("Channels")
            .RequireAuthorization(ApiAuthorization.TenantPolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        channels.MapPost("", Register).WithName("RegisterChannel").RequireScope(ApiScopes.Write)
            .WithSummary("Registers a LINE channel for the tenant, or updates its settings")
            .WithDescription("The first tenant to register a channel id owns it; another tenant gets 409. Registering again replaces the secret, token, plan and time zone.");
        channels.MapGet("", List).WithName("ListChannels").WithSummary("The tenant's channels, a page at a time").RequireScope(ApiScopes.Read);

        var channel = app.MapChannelResource("", "Channels");
        channel.MapGet("", Get).WithName("GetChannel").WithSummary("A channel's settings (never its secret or token)").RequireScope(ApiScopes.Read);
        channel.MapPut("/access-token", RotateAccessToken).WithName("RotateChannelAccessToken")
            .WithSummary("Replaces the channel access token").RequireScope(ApiScopes.Write);
        return app;
    }

    private static async Task<Results<Created<ChannelResponse>, Ok<ChannelResponse>, ValidationProblem, ProblemHttpResult>> Register(
        RegisterChannelRequest body, ClaimsPrincipal user, IGrainFactory grains, ChannelSettingsCache settingsCache)
    {
        var errors = new FieldErrors();
        errors.Identifier("channelId", body.ChannelId, 64);
        errors.Required("channelSecret", body.ChannelSecret);
        if (body.AccessToken is { } token && string.IsNullOrWhiteSpace(token))
        {
            errors.Add("accessToken", "'accessToken' must not be blank; leave it out for a channel that delivers to the sandbox.");
        }

        // Registration takes the LINE plans only: a custom plan needs its limit and is set with PUT
        // /api/v1/channels/{channelId}/quota. A refused plan is left out so the other fields are judged on the default one.
        var plan = body.Plan;
        if (plan is not null && !(QuotaSettingsValidator.TryParsePlan(plan, out var given) && given is LinePlan.Communication or LinePlan.Light or LinePlan.Standard))
        {
            errors.Add("plan", "'plan' must be communication, light or standard.");
            plan = null;
        }

        var timeZone = string.IsNullOrWhiteSpace(body.TimeZone) ? "Asia/Tokyo" : body.TimeZone.Trim();
        var requested = new RawQuotaSettings
        {
            Plan = plan,
            ExtraMessageCap = body.ExtraMessageCap,
            WhenExhausted = body.WhenExhausted,
            AlertThresholds = body.AlertThresholds,
            TimeZone = timeZone,
        };
        QuotaSettingsValidator.TryApply(requested, RegistrationDefaults, out var settings, out var problems);
        foreach (var problem in problems)
        {
            errors.Add(problem.Path.TrimStart('$', '.'), problem.Message);
        }

        if (errors.Any || settings is null)
        {
            return errors.ToProblem();
        }

        var tenantId = ApiClaims.Tenant(user);
        var channelId = body.ChannelId!;
        var outcome = await grains.GetGrain<IChannelRegistrationGrain>(channelId).Register(tenantId, settings);
        if (outcome == ChannelClaimOutcome.OwnedByAnotherTenant)
        {
            return ApiProblems.Conflict($"Channel '{channelId}' is registered by another tenant.");
        }

        // Each step is repeatable, so a client that saw an error registers again.
        await grains.GetGrain<ITenantGrain>(tenantId).AddChannel(channelId);
        await settingsCache.ConfigureAsync(new ChannelSettings
        {
            ChannelId = channelId,
            ChannelSecret = body.ChannelSecret!,
            AccessToken = body.AccessToken,
            TimeZone = timeZone,
        });
        await grains.GetGrain<IPlanQuotaGrain>(channelId).Configure(settings);

        var response = await DescribeAsync(grains, channelId);
        return outcome == ChannelClaimOutcome.Registered
            ? TypedResults.Created($"/api/v1/channels/{channelId}", response)
            : TypedResults.Ok(response);
    }

    private static async Task<Results<Ok<Page<ChannelResponse>>, ValidationProblem>> List(
        string? cursor, int? limit, ClaimsPrincipal user, IGrainFactory grains)
    {
        var errors = new FieldErrors();
        if (!Pagination.TryRead(cursor, limit, errors, out var after, out var size))
        {
            return errors.ToProblem();
        }

        var ids = await grains.GetGrain<ITenantGrain>(ApiClaims.Tenant(user)).GetChannels();
        var page = Pagination.ByKey(ids, id => id, after, size);
        var items = await Task.WhenAll(page.Items.Select(id => DescribeAsync(grains, id)));
        return TypedResults.Ok(new Page<ChannelResponse>(items, page.NextCursor));
    }

    private static async Task<Ok<ChannelResponse>> Get(string channelId, IGrainFactory grains) =>
        TypedResults.Ok(await DescribeAsync(grains, channelId));

    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> RotateAccessToken(
        string channelId, RotateAccessTokenRequest body, IGrainFactory grains, ChannelSettingsCache settingsCache)
    {
        if (string.IsNullOrWhiteSpace(body.AccessToken))
        {
            return ApiProblems.Invalid("accessToken", "'accessToken' is required.");
        }

        if (await grains.GetGrain<IChannelGrain>(channelId).GetSettings() is not { } settings)
        {
            return ApiProblems.ChannelNotFound(channelId);
        }

        await settingsCache.ConfigureAsync(settings with { AccessToken = body.AccessToken });
        return TypedResults.NoContent();
    }

    private static async Task<ChannelResponse> DescribeAsync(IGrainFactory grains, string channelId)
    {
        var registration = (await grains.GetGrain<IChannelRegistrationGrain>(channelId).Get())!;
        var settings = await grains.GetGrain<IChannelGrain>(channelId).GetSettings();
        var plan = registration.Plan;
        return new ChannelResponse(
            channelId, settings?.TimeZone ?? plan.TimeZone, plan.Plan.ToString().ToLowerInvariant(), plan.ExtraMessageCap,
            plan.WhenExhausted.ToString().ToLowerInvariant(), [.. plan.AlertThresholds],
            !string.IsNullOrEmpty(settings?.AccessToken), registration.RegisteredAt, registration.UpdatedAt);
    }
}
