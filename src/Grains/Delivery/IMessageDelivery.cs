namespace Stepcast.Grains.Delivery;

/// <summary>
/// Where friend grains hand their pushes. The sandbox records them; the LINE implementation pushes through the
/// Messaging API with the request's retry key. Implementations never throw for delivery failures: they answer
/// with a <see cref="DeliveryOutcome"/> so the grain records every result in the friend's history.
/// </summary>
public interface IMessageDelivery
{
    ValueTask<DeliveryOutcome> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Answers a webhook event with its reply token. The outcome is final: <see cref="DeliveryStatus.Delivered"/> or
    /// <see cref="DeliveryStatus.Rejected"/> (an expired or used token, an invalid message, LINE unreachable) — a
    /// reply token does not outlive a later retry.
    /// </summary>
    ValueTask<DeliveryOutcome> ReplyAsync(ReplyRequest request, CancellationToken cancellationToken);
}

/// <summary>Multicasts for coalesced sends; same rules as <see cref="IMessageDelivery"/>: outcomes, never exceptions.</summary>
public interface IMulticastDelivery
{
    ValueTask<DeliveryOutcome> MulticastAsync(MulticastRequest request, CancellationToken cancellationToken);
}
