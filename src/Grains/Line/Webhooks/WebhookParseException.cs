namespace Stepcast.Grains.Line.Webhooks;

/// <summary>
/// A webhook body that is not valid JSON or has a known field of the wrong shape. Carries the JSON path of the
/// offending field so the API can answer 400 problem details naming it.
/// </summary>
public sealed class WebhookParseException : Exception
{
    public WebhookParseException(string path, string reason, Exception? innerException = null)
        : base($"Invalid webhook body at {path}: {reason}", innerException)
    {
        Path = path;
        Reason = reason;
    }

    /// <summary>JSON path of the offending field, e.g. <c>$.events[2].timestamp</c>.</summary>
    public string Path { get; }

    /// <summary>What is wrong there, without the path.</summary>
    public string Reason { get; }
}
