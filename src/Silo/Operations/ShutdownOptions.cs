namespace Stepcast.Silo.Operations;

/// <summary>How a host stops on SIGTERM. Section <c>Stepcast:Shutdown</c>.</summary>
public sealed class ShutdownOptions
{
    public const string SectionName = "Stepcast:Shutdown";

    /// <summary>
    /// The host's whole shutdown budget (<see cref="HostOptions.ShutdownTimeout"/>): drain, in-flight requests,
    /// the silo's grain deactivation. Kubernetes' <c>terminationGracePeriodSeconds</c> must be longer, or the
    /// kubelet sends SIGKILL in the middle of a hand-off.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a stopping host keeps serving while it reports itself unready and answers new webhooks 503, so the
    /// load balancer stops sending it traffic before the listener closes (endpoint removal is not instant).
    /// </summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.Zero;
}
