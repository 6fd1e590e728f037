namespace Stepcast.Api.Webhooks;

/// <summary>How LINE webhooks are received. Section <c>Stepcast:Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Stepcast:Webhooks";

    /// <summary>
    /// A hard limit, not a setting: LINE's bodies are a few kilobytes, and the whole body must be in memory to
    /// check its signature before anything else is done with it.
    /// </summary>
    public const int MaxBodyBytes = 1024 * 1024;

    /// <summary>
    /// How long a webhook may take from the first byte read to the last grain call answered. LINE waits two
    /// seconds for an answer; past this, the request answers 503 so LINE redelivers rather than gives up.
    /// </summary>
    public TimeSpan HandlingTimeout { get; set; } = TimeSpan.FromMilliseconds(1500);
}
