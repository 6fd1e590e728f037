namespace Stepcast.Grains.Delivery;

/// <summary>
/// How a push to LINE is retried inside one delivery call, bound from <c>Stepcast:Delivery</c>. The bounds keep a
/// friend grain busy for seconds at most; anything longer is the grain's <see cref="EngineOptions.SendRetryDelay"/>.
/// </summary>
public sealed class DeliveryOptions
{
    public const string SectionName = "Stepcast:Delivery";

    /// <summary>Attempts per call, the first included, for transient failures (5xx, timeouts, network, rate limits).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The backoff before the second attempt is drawn from [0, this]; it doubles per attempt (full jitter).</summary>
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The largest backoff drawn between two attempts, whatever the attempt number.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// No attempt starts after this much time in the call: a backoff (or LINE's Retry-After) that would pass it ends
    /// the call with <see cref="DeliveryStatus.RetryLater"/> instead.
    /// </summary>
    public TimeSpan RetryBudget { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long a push may wait for a rate-limit permit before the call gives up with RetryLater.</summary>
    public TimeSpan MaxPermitWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a silo gathers friends due for the same non-personalised send step into one multicast (up to 500
    /// recipients). Zero sends every step as a push.
    /// </summary>
    public TimeSpan MulticastWindow { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a multicast batch waits for all its members to confirm before it goes to those that did.</summary>
    public TimeSpan MulticastConfirmTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
