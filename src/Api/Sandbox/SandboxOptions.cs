namespace Stepcast.Api.Sandbox;

/// <summary>The sandbox: deliveries go to an in-memory recorder and waits are compressed. Section <c>Stepcast:Sandbox</c>.</summary>
public sealed class SandboxOptions
{
    public const string SectionName = "Stepcast:Sandbox";

    public bool Enabled { get; set; } = true;

    /// <summary>The channel id the sandbox endpoints and sample scenarios use.</summary>
    public string ChannelId { get; set; } = "sandbox";

    /// <summary>
    /// The sandbox channel's webhook secret, so a person can sign and POST webhooks to
    /// <c>/webhooks/line/sandbox</c>. A fixed development value, not a secret: never use it for a real channel.
    /// </summary>
    public string ChannelSecret { get; set; } = DefaultChannelSecret;

    public const string DefaultChannelSecret = "sandbox-channel-secret";

    /// <summary>How many times faster waits pass in the sandbox: 86400 makes a day last a second.</summary>
    public double WaitCompression { get; set; } = 86_400;
}
