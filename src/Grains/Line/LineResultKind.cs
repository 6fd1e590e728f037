namespace Stepcast.Grains.Line;

/// <summary>How LINE answered one call, reduced to what the delivery engine must decide on.</summary>
public enum LineResultKind
{
    /// <summary>2xx: LINE accepted the request.</summary>
    Accepted = 0,

    /// <summary>
    /// 409 to a request carrying <c>X-Line-Retry-Key</c>: an earlier attempt with the same key was accepted, so the
    /// messages were sent once and must not be sent again. Treat as success.
    /// </summary>
    AlreadyAccepted = 1,

    /// <summary>429 other than the monthly limit: back off (honour <see cref="LineSendResult.RetryAfter"/>) and retry with the same key.</summary>
    RateLimited = 2,

    /// <summary>429 "You have reached your monthly limit.": retrying this month is pointless; pause the channel.</summary>
    QuotaExceeded = 3,

    /// <summary>4xx other than 409/429: the request itself is wrong (bad token, blocked friend, invalid message); do not retry unchanged.</summary>
    Rejected = 4,

    /// <summary>5xx: LINE failed; the request may or may not have been accepted, so retry with the same retry key.</summary>
    ServerError = 5,

    /// <summary>No answer within <see cref="LineClientOptions.Timeout"/>; LINE may have accepted it, so retry with the same retry key.</summary>
    Timeout = 6,

    /// <summary>The connection failed (refused, reset, DNS); like a timeout, retry with the same retry key.</summary>
    NetworkError = 7,

    /// <summary>
    /// No turn among this process's calls to LINE (<see cref="LineClientOptions.MaxConnections"/>) came free within
    /// <see cref="LineClientOptions.Timeout"/>: the request never left, so it may be retried with or without its key.
    /// </summary>
    NotSent = 8,
}
