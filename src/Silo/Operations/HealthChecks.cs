using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace Stepcast.Silo.Operations;

/// <summary>Tags that sort the checks into Kubernetes' three probes.</summary>
public static class HealthTags
{
    /// <summary>The host finished starting (the silo joined, or the client connected once): <c>/health/startup</c>.</summary>
    public const string Startup = "startup";

    /// <summary>The host may take traffic now: <c>/health/ready</c>. Liveness (<c>/health/live</c>) runs no check at all.</summary>
    public const string Ready = "ready";
}

/// <summary>Healthy once every hosted service has started, and ready to serve until shutdown begins.</summary>
public sealed class LifecycleHealthCheck(HostDrain drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            !drain.HasStarted ? HealthCheckResult.Unhealthy("starting")
            : drain.IsDraining ? HealthCheckResult.Unhealthy("draining: shutting down")
            : HealthCheckResult.Healthy());
}

/// <summary>Ready while this silo is an active member of the cluster, as the membership table says.</summary>
public sealed class SiloMembershipHealthCheck(IClusterMembershipService membership, ILocalSiloDetails localSilo) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = membership.CurrentSnapshot.GetSiloStatus(localSilo.SiloAddress);
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"silo {localSilo.SiloAddress} is {status}"));
    }
}

/// <summary>
/// Ready while the Orleans client has at least one gateway. The client connected once before the host started
/// (its start fails otherwise); afterwards the gateway count comes from the client's notifications.
/// </summary>
public sealed class ClusterClientHealthCheck(ClusterConnectionState connection) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(connection.ConnectedGateways is 0
            ? HealthCheckResult.Unhealthy("no gateway connected")
            : HealthCheckResult.Healthy());
}

/// <summary>The Orleans client's latest gateway count; null until the first change is reported.</summary>
public sealed class ClusterConnectionState
{
    private int _connectedGateways = -1;

    public int? ConnectedGateways => Volatile.Read(ref _connectedGateways) is var count and >= 0 ? count : null;

    public void GatewayCountChanged(int count) => Volatile.Write(ref _connectedGateways, count);

    public void ConnectionLost() => Volatile.Write(ref _connectedGateways, 0);
}
