using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Stepcast.Grains;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Friends;
using Stepcast.Silo;

namespace Stepcast.Api.Sandbox;

/// <summary>
/// Lets a person try Stepcast without a LINE account: add a friend, send it events or text, and read what the
/// engine would have pushed to LINE.
/// </summary>
public static class SandboxApi
{
    public static WebApplicationBuilder AddSandbox(this WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(SandboxOptions.SectionName);
        builder.Services.Configure<SandboxOptions>(section);
        var sandbox = section.Get<SandboxOptions>() ?? new SandboxOptions();
        if (sandbox.Enabled)
        {
            builder.Services.PostConfigure<EngineOptions>(engine => engine.WaitCompression = sandbox.WaitCompression);

            // No access token: its pushes and replies go to the recorder. A sandbox channel listed in Stepcast:Channels wins.
            builder.Services.PostConfigure<ChannelBootstrapOptions>(bootstrap =>
            {
                if (!bootstrap.Channels.Any(c => string.Equals(c.ChannelId, sandbox.ChannelId, StringComparison.Ordinal)))
                {
                    var channel = new ChannelRegistration { ChannelId = sandbox.ChannelId, ChannelSecret = sandbox.ChannelSecret };
                    channel.AutoReplies.Add(CouponAutoReply());
                    bootstrap.Channels.Add(channel);
                }
            });
        }

        return builder;
    }

    /// <summary>The sandbox channel's auto-reply, so a text of "coupon" shows a reply out of the box.</summary>
    private static AutoReplyRegistration CouponAutoReply()
    {
        var rule = new AutoReplyRegistration { Match = "exact" };
        rule.Keywords.AddRange(["クーポン", "coupon"]);
        rule.Messages.Add(new AutoReplyMessageRegistration { Type = "text", Text = "クーポンをお届けします。本日のお会計から10%OFF: STEPCAST10" });
        return rule;
    }

    public static IEndpointRouteBuilder MapSandboxApi(this IEndpointRouteBuilder app)
    {
        if (!app.ServiceProvider.GetRequiredService<IOptions<SandboxOptions>>().Value.Enabled)
        {
            return app;
        }

        if (app is WebApplication web)
        {
            web.Lifetime.ApplicationStarted.Register(() => LogHowToTry(web));
        }

        var sandbox = app.MapGroup("/sandbox").WithTags("Sandbox");
        sandbox.MapGet("/", Describe).WithName("DescribeSandbox").WithSummary("How to use the sandbox");
        sandbox.MapPost("/friends/{lineUserId}/follow", Follow).WithName("SandboxFollow").WithSummary("A friend adds (or unblocks) the account");
        sandbox.MapPost("/friends/{lineUserId}/unfollow", Unfollow).WithName("SandboxUnfollow").WithSummary("A friend blocks the account");
        sandbox.MapPost("/friends/{lineUserId}/events", RecordEvent).WithName("SandboxEvent").WithSummary("A store event such as purchased");
        sandbox.MapPost("/friends/{lineUserId}/messages", ReceiveText).WithName("SandboxMessage").WithSummary("The friend sends a text message");
        sandbox.MapGet("/friends/{lineUserId}", GetFriend).WithName("SandboxFriend").WithSummary("The friend's state, runs and history");
        sandbox.MapGet("/deliveries", ListDeliveries).WithName("SandboxDeliveries").WithSummary("What would have been pushed to LINE");
        return app;
    }

    private static void LogHowToTry(WebApplication app)
    {
        var address = app.Urls.FirstOrDefault() ?? "http://localhost:5080";
        app.Logger.LogInformation(
            "Stepcast sandbox ready at {Address}/sandbox. Add a friend: curl -X POST {Address}/sandbox/friends/U0001/follow -H 'content-type: application/json' -d '{{\"displayName\":\"Hanako\"}}' then watch: curl {Address}/sandbox/deliveries?lineUserId=U0001",
            address, address, address);
    }

    public sealed record FollowRequest(string? DisplayName, bool IsUnblocked = false);

    public sealed record EventRequest([property: Required] string Name);

    public sealed record TextRequest([property: Required] string Text);

    /// <param name="Kind"><c>push</c> (a scenario step) or <c>reply</c> (an auto-reply, free of the monthly quota; it has no scenario or step).</param>
    /// <param name="Keyword">The keyword of the auto-reply rule that answered; null for a push.</param>
    public sealed record SandboxDelivery(
        string LineUserId, string ScenarioId, string StepId, DateTimeOffset SentAt, IReadOnlyList<System.Text.Json.JsonElement> Messages,
        string Kind, string? Keyword);

    private static Ok<object> Describe(IOptions<SandboxOptions> options, HttpRequest request)
    {
        var root = $"{request.Scheme}://{request.Host}/sandbox";
        return TypedResults.Ok<object>(new
        {
            channelId = options.Value.ChannelId,
            waitCompression = options.Value.WaitCompression,
            tryIt = new[]
            {
                $"curl -X POST {root}/friends/U0001/follow -H 'content-type: application/json' -d '{{\"displayName\":\"Hanako\"}}'",
                $"curl {root}/deliveries?lineUserId=U0001",
                $"curl -X POST {root}/friends/U0001/messages -H 'content-type: application/json' -d '{{\"text\":\"coupon\"}}'",
                $"curl {root}/friends/U0001",
            },
        });
    }

    private static async Task<Ok<SignalResult>> Follow(string lineUserId, FollowRequest? body, IGrainFactory grains, IOptions<SandboxOptions> options, TimeProvider clock) =>
        TypedResults.Ok(await grains.GetFriend(options.Value.ChannelId, lineUserId).Follow(new FollowCommand
        {
            At = clock.GetUtcNow(),
            DisplayName = body?.DisplayName,
            IsUnblocked = body?.IsUnblocked ?? false,
        }));

    private static async Task<Ok<SignalResult>> Unfollow(string lineUserId, IGrainFactory grains, IOptions<SandboxOptions> options, TimeProvider clock) =>
        TypedResults.Ok(await grains.GetFriend(options.Value.ChannelId, lineUserId).Unfollow(new UnfollowCommand { At = clock.GetUtcNow() }));

    private static async Task<Results<Ok<SignalResult>, ValidationProblem>> RecordEvent(string lineUserId, EventRequest body, IGrainFactory grains, IOptions<SandboxOptions> options, TimeProvider clock)
    {
        if (string.IsNullOrWhiteSpace(body.Name))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["An event name is required, e.g. purchased."] });
        }

        return TypedResults.Ok(await grains.GetFriend(options.Value.ChannelId, lineUserId).RecordEvent(new FriendEventCommand
        {
            At = clock.GetUtcNow(),
            Name = body.Name.Trim(),
        }));
    }

    private static async Task<Results<Ok<SignalResult>, ValidationProblem>> ReceiveText(string lineUserId, TextRequest body, IGrainFactory grains, IOptions<SandboxOptions> options, TimeProvider clock)
    {
        if (string.IsNullOrEmpty(body.Text))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["text"] = ["The message text is required."] });
        }

        return TypedResults.Ok(await grains.GetFriend(options.Value.ChannelId, lineUserId).ReceiveText(new TextMessageCommand
        {
            At = clock.GetUtcNow(),
            Text = body.Text,
            // As LINE gives one with every message, so the sandbox's auto-replies answer here too.
            ReplyToken = Guid.NewGuid().ToString("N"),
        }));
    }

    private static async Task<Ok<FriendSnapshot>> GetFriend(string lineUserId, IGrainFactory grains, IOptions<SandboxOptions> options) =>
        TypedResults.Ok(await grains.GetFriend(options.Value.ChannelId, lineUserId).GetSnapshot());

    private static Ok<SandboxDelivery[]> ListDeliveries(string? lineUserId, SandboxDeliveryRecorder recorder) =>
        TypedResults.Ok(recorder.Deliveries
            .Where(d => lineUserId is null || d.LineUserId == lineUserId)
            .Select(d => new SandboxDelivery(
                d.LineUserId, d.ScenarioId, d.StepId, d.SentAt,
                [.. d.Messages.Select(m => System.Text.Json.JsonDocument.Parse(m.Json).RootElement)],
                d.Kind == RecordedDeliveryKind.Reply ? "reply" : "push", d.Keyword))
            .ToArray());
}
