using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Stepcast.Silo.Postgres;

namespace Stepcast.LoadHarness;

/// <summary>An Orleans client in the harness process, connected to the run's hosts as the Api would be.</summary>
public static class HarnessClient
{
    public static async Task<IHost> StartAsync(BenchTopology hosts, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            if (hosts.Postgres is { } postgres)
            {
                client.Configure<ClusterOptions>(options =>
                {
                    options.ClusterId = "stepcast-load";
                    options.ServiceId = "stepcast-load";
                });
                client.UseStepcastPostgres(postgres.ConnectionString);
            }
            else
            {
                client.UseLocalhostClustering(hosts.EmbeddedGatewayPort!.Value);
            }
        });
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return host;
    }
}
