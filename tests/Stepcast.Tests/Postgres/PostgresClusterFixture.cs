using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.GrainDirectory;
using Orleans.Hosting;
using Orleans.Messaging;
using Orleans.Runtime;
using Orleans.TestingHost;
using Stepcast.Silo.Postgres;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Postgres;

/// <summary>
/// Two in-process silos and a client wired with <see cref="PostgresOrleansExtensions.UseStepcastPostgres(ISiloBuilder, string, FriendStateStore, ReminderTableStore)"/>:
/// ADO.NET clustering, storage and reminders all against the test PostgreSQL.
/// </summary>
/// <remarks>
/// InProcessTestCluster always registers its own in-memory membership table (silos) and gateway list
/// (client) after our configuration runs. Those registrations are removed when each host builds its
/// container, so the silos really join through OrleansMembershipTable and the client really finds
/// gateways through GatewaysQueryKey. Messaging stays on the test cluster's in-memory transport.
/// </remarks>
public sealed class PostgresClusterFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private InProcessTestCluster? _cluster;

    public async Task<InProcessTestCluster> StartAsync(PostgresServer postgres)
    {
        await _gate.WaitAsync();
        try
        {
            if (_cluster is null)
            {
                var connectionString = postgres.ConnectionString;
                var builder = new InProcessTestClusterBuilder(2);
                builder.Options.ConfigureFileLogging = false;
                builder.ConfigureSilo((_, silo) =>
                {
                    silo.UseStepcastPostgres(connectionString);
                    silo.Configure<ReminderOptions>(options => options.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
                });
                builder.ConfigureSiloHost((_, host) =>
                    host.ConfigureContainer(new DefaultServiceProviderFactory(), services =>
                    {
                        RemoveInProcessMembership(services);
                        RemoveInProcessGrainDirectory(services);
                    }));
                builder.ConfigureClient(client => client.UseStepcastPostgres(connectionString));
                builder.ConfigureClientHost(host =>
                    host.ConfigureContainer(new DefaultServiceProviderFactory(), RemoveInProcessMembership));

                var cluster = builder.Build();
                await cluster.DeployAsync();
                await WaitUntilEverySiloSeesAllSilosAsync(cluster);
                _cluster = cluster;
            }

            return _cluster;
        }
        finally
        {
            _gate.Release();
        }
    }

    // Internal to Orleans.TestingHost, hence matched by name.
    private const string InProcessMembershipTableType = "Orleans.TestingHost.InProcess.InProcessMembershipTable";

    private static void RemoveInProcessMembership(IServiceCollection services)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            var descriptor = services[i];
            if ((descriptor.ServiceType == typeof(IMembershipTable) || descriptor.ServiceType == typeof(IGatewayListProvider))
                && !descriptor.IsKeyedService
                && descriptor.ImplementationInstance?.GetType().FullName == InProcessMembershipTableType)
            {
                services.RemoveAt(i);
            }
        }
    }

    // Placement only considers silos the local membership snapshot lists as active; with the ADO.NET
    // table that view is refreshed by polling, so a fresh silo can lag behind for a moment.
    private static async Task WaitUntilEverySiloSeesAllSilosAsync(InProcessTestCluster cluster)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var converged = cluster.Silos.All(silo =>
                silo.ServiceProvider.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.Members.Values
                    .Count(member => member.Status == SiloStatus.Active) == cluster.Silos.Count);
            if (converged)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The silos did not all see each other as active through the PostgreSQL membership table.");
            }

            await Task.Delay(100);
        }
    }

    // The test cluster's shared grain directory only trusts silos listed in its own membership table,
    // so with real membership it rejects every activation; Orleans' built-in directory takes over.
    private static void RemoveInProcessGrainDirectory(IServiceCollection services)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            var type = services[i].ServiceType;
            var isDefaultDirectory = type == typeof(IGrainDirectory) && services[i].IsKeyedService
                && Equals(services[i].ServiceKey, GrainDirectoryAttribute.DEFAULT_GRAIN_DIRECTORY);
            var isDirectoryName = type.IsGenericType && type.GetGenericTypeDefinition().Name == "NamedService`1"
                && type.GetGenericArguments()[0] == typeof(IGrainDirectory);
            if (isDefaultDirectory || isDirectoryName)
            {
                services.RemoveAt(i);
            }
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        _gate.Dispose();
    }
}
