using Microsoft.Extensions.DependencyInjection;
using Stepcast.Grains.Channels;

namespace Stepcast.Grains.Delivery;

/// <summary>
/// The engine's delivery: a channel whose settings hold an access token pushes (and replies) to LINE, any other channel (the
/// sandbox, tests) goes to the <see cref="SandboxDeliveryRecorder"/>. Registering a token switches a channel to LINE
/// within the settings cache's time to live, without a restart.
/// </summary>
public sealed class ChannelRoutingDelivery(ChannelSettingsCache channels, SandboxDeliveryRecorder sandbox, IServiceProvider services)
    : IMessageDelivery, IMulticastDelivery
{
    // Resolved on the first LINE channel, so a sandbox-only host never builds an HTTP client it does not use.
    private readonly Lazy<LineMessageDelivery> _line = new(services.GetRequiredService<LineMessageDelivery>);

    public ValueTask<DeliveryOutcome> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken) =>
        RouteAsync(request.ChannelId, () => sandbox.DeliverAsync(request, cancellationToken), (line, token) => line.DeliverAsync(request, token, cancellationToken));

    public ValueTask<DeliveryOutcome> MulticastAsync(MulticastRequest request, CancellationToken cancellationToken) =>
        RouteAsync(request.ChannelId, () => sandbox.MulticastAsync(request, cancellationToken), (line, token) => line.MulticastAsync(request, token, cancellationToken));

    public ValueTask<DeliveryOutcome> ReplyAsync(ReplyRequest request, CancellationToken cancellationToken) =>
        RouteAsync(request.ChannelId, () => sandbox.ReplyAsync(request, cancellationToken), (line, token) => line.ReplyAsync(request, token, cancellationToken));

    private async ValueTask<DeliveryOutcome> RouteAsync(
        string channelId, Func<ValueTask<DeliveryOutcome>> toSandbox, Func<LineMessageDelivery, string, ValueTask<DeliveryOutcome>> toLine)
    {
        var settings = await channels.GetAsync(channelId);
        return string.IsNullOrEmpty(settings?.AccessToken) ? await toSandbox() : await toLine(_line.Value, settings.AccessToken);
    }
}
