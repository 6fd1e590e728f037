using System.Net;
using Microsoft.Extensions.Configuration;

namespace Stepcast.Silo;

/// <summary>
/// Where a silo of the cluster topology listens and which cluster it joins, from configuration section
/// <c>Stepcast:Cluster</c>, falling back to the variables Kubernetes manifests set from the downward API
/// (<c>ORLEANS_CLUSTER_ID</c>, <c>ORLEANS_SERVICE_ID</c>, <c>POD_IP</c>, <c>POD_NAME</c>).
/// </summary>
public sealed record ClusterSettings
{
    public const string SectionName = "Stepcast:Cluster";

    /// <summary>Silos and clients with the same cluster id form one cluster (one deployment).</summary>
    public string ClusterId { get; init; } = "stepcast";

    /// <summary>Stable across deployments: grain state and reminders are keyed by it.</summary>
    public string ServiceId { get; init; } = "stepcast";

    public int SiloPort { get; init; } = 11111;
    public int GatewayPort { get; init; } = 30000;

    /// <summary>The address other silos and clients reach this silo at (the pod IP on Kubernetes).</summary>
    public IPAddress AdvertisedAddress { get; init; } = IPAddress.Loopback;

    public string? SiloName { get; init; }

    public static ClusterSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var defaults = new ClusterSettings();
        var address = section["AdvertisedAddress"] ?? configuration["POD_IP"];
        return new ClusterSettings
        {
            ClusterId = section["ClusterId"] ?? configuration["ORLEANS_CLUSTER_ID"] ?? defaults.ClusterId,
            ServiceId = section["ServiceId"] ?? configuration["ORLEANS_SERVICE_ID"] ?? defaults.ServiceId,
            SiloPort = int.TryParse(section["SiloPort"], out var siloPort) ? siloPort : defaults.SiloPort,
            GatewayPort = int.TryParse(section["GatewayPort"], out var gatewayPort) ? gatewayPort : defaults.GatewayPort,
            AdvertisedAddress = address is null ? defaults.AdvertisedAddress : IPAddress.Parse(address),
            SiloName = section["SiloName"] ?? configuration["POD_NAME"],
        };
    }
}
