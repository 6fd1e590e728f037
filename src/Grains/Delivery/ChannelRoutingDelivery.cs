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

    public async ValueTask<DeliveryOutcome> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = await channels.GetAsync(request.ChannelId);
        return string.IsNullOrEmpty(settings?.AccessToken)
            ? await sandbox.DeliverAsync(request, cancellationToken)
            : await _line.Value.DeliverAsync(request, settings.AccessToken, cancellationToken);
    }

    public async ValueTask<DeliveryOutcome> MulticastAsync(MulticastRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = await channels.GetAsync(request.ChannelId);
        return string.IsNullOrEmpty(settings?.AccessToken)
            ? await sandbox.MulticastAsync(request, cancellationToken)
            : await _line.Value.MulticastAsync(request, settings.AccessToken, cancellationToken);
    }

    public async ValueTask<DeliveryOutcome> ReplyAsync(ReplyRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = await channels.GetAsync(request.ChannelId);
        return string.IsNullOrEmpty(settings?.AccessToken)
            ? await sandbox.ReplyAsync(request, cancellationToken)
            : await _line.Value.ReplyAsync(request, settings.AccessToken, cancellationToken);
    }
}
