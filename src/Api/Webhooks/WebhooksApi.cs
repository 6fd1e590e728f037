using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Diagnostics;

namespace Stepcast.Api.Webhooks;

/// <summary>LINE's webhook endpoint: <c>POST /webhooks/line/{channelId}</c>, the URL set in the LINE Developers console.</summary>
public static class WebhooksApi
{
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<WebhookOptions>()
            .Bind(builder.Configuration.GetSection(WebhookOptions.SectionName))
            .Validate(o => o.HandlingTimeout > TimeSpan.Zero, $"{WebhookOptions.SectionName}:HandlingTimeout must be positive.")
            .ValidateOnStart();
        // An API pod of the cluster topology has no engine services of its own, but needs the channel secrets.
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<ChannelSettingsCache>();
        builder.Services.TryAddSingleton<StepcastMetrics>();
        builder.Services.AddSingleton<WebhookDispatcher>();
        builder.Services.AddSingleton<WebhookReceiver>();
        return builder;
    }

    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var webhooks = app.MapGroup("/webhooks").WithTags("Webhooks");
        webhooks.MapPost("/line/{channelId}", (string channelId, HttpRequest request, WebhookReceiver receiver) => receiver.ReceiveAsync(channelId, request))
            .WithName("ReceiveLineWebhook")
            .WithSummary("Receives a LINE webhook for a channel")
            .WithDescription("Verifies X-Line-Signature, then hands follow, unfollow, text message, postback and account link events to the friends' grains. Answers 200 once every event is persisted, 503 when they could not be in time (LINE then redelivers; repeats are recognised by webhookEventId).")
            .Accepts<object>("application/json")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }
}
