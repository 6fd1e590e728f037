using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using Stepcast.Grains;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Hosting;
using Stepcast.Grains.Stats;
using Stepcast.Silo.Embedded;
using Stepcast.Silo.Postgres;
using Stepcast.Silo.Storage;

namespace Stepcast.Silo;

public static class StepcastSiloBuilderExtensions
{
    /// <summary>
    /// The one place where the topology is chosen: embedded (localhost clustering, in-memory storage and
    /// reminders — what a newcomer runs) or cluster (PostgreSQL for membership, state and reminders).
    /// </summary>
    public static ISiloBuilder AddStepcastSilo(this ISiloBuilder silo, IConfiguration configuration)
    {
        var topology = StepcastTopology.From(configuration);
        switch (topology)
        {
            case StepcastTopology.Embedded:
                // Ports are settings here too, so two embedded hosts (or a load run beside a test run) can share a machine.
                var local = ClusterSettings.From(configuration);
                silo.UseLocalhostClustering(local.SiloPort, local.GatewayPort);
                // State and reminders in this process's memory, not in Orleans' storage and reminder grains: one
                // process is the whole cluster here, and each of those grain calls cost messaging and a copy.
                silo.Services.AddGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, (services, _) => InProcessStorage(services));
                silo.Services.AddGrainStorage(StorageNames.Friends, (services, _) => InProcessStorage(services));
                silo.AddReminders();
                silo.Services.AddSingleton<IReminderTable, InProcessReminderTable>();
                // Those reminders die with the state in a crash, so a reminder beside each step due now buys nothing, nor
                // does a send's route stored before it goes (configuration may still turn them on: it binds after this).
                silo.Services.Configure<EngineOptions>(engine =>
                {
                    engine.DurableSafetyNet = false;
                    engine.StoreRouteBeforeSending = false;
                });
                break;
            case StepcastTopology.Cluster:
                var cluster = ClusterSettings.From(configuration);
                silo.Configure<ClusterOptions>(options =>
                {
                    options.ClusterId = cluster.ClusterId;
                    options.ServiceId = cluster.ServiceId;
                });
                silo.ConfigureEndpoints(cluster.AdvertisedAddress, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
                if (cluster.SiloName is { } siloName)
                {
                    silo.Configure<SiloOptions>(options => options.SiloName = siloName);
                }

                // Failure detection is tunable per environment (tests shorten it, large clusters may lengthen it).
                silo.Configure<ClusterMembershipOptions>(configuration.GetSection($"{ClusterSettings.SectionName}:Membership"));
                // A silo pod has a memory limit, and a cohort woken together can hold more active friends than it allows
                // (~8 kB each, for minutes when their next step is near): past the limit the runtime sheds the least
                // recently used activations, whose state is stored, rather than the pod being killed mid-delivery.
                // Not embedded: its storage is the process's own memory, which shedding activations does not free.
                silo.Configure<GrainCollectionOptions>(options => options.EnableActivationSheddingOnMemoryPressure = true);
                silo.Configure<GrainCollectionOptions>(configuration.GetSection($"{ClusterSettings.SectionName}:GrainCollection"));
                silo.UseStepcastPostgres(RequiredConnectionString(configuration), FriendStateStoreFrom(configuration), ReminderTableFrom(configuration));
                break;
        }

        return silo.AddStepcastEngineServices(configuration);
    }

    // Orleans' binary serializer rather than Newtonsoft.Json, the memory provider's default: in a profile of the
    // embedded ingest, serialising friend state as JSON was about a quarter of the host's CPU.
    private static InProcessGrainStorage InProcessStorage(IServiceProvider services) =>
        new(services.GetRequiredService<Serializer>());

    public const string FriendStateStoreKey = "Stepcast:Postgres:FriendStateStore";

    public const string ReminderTableKey = "Stepcast:Postgres:ReminderTable";

    /// <summary>Reads <see cref="FriendStateStoreKey"/>: batched unless told otherwise; an unknown value stops the start.</summary>
    public static FriendStateStore FriendStateStoreFrom(IConfiguration configuration) =>
        NamedSetting(configuration, FriendStateStoreKey, FriendStateStore.Batched);

    /// <summary>Reads <see cref="ReminderTableKey"/>: batched unless told otherwise; an unknown value stops the start.</summary>
    public static ReminderTableStore ReminderTableFrom(IConfiguration configuration) =>
        NamedSetting(configuration, ReminderTableKey, ReminderTableStore.Batched);

    private static T NamedSetting<T>(IConfiguration configuration, string key, T unset) where T : struct, Enum => configuration[key] switch
    {
        null or "" => unset,
        // By name only: Enum.TryParse would also take "1".
        var value when Enum.GetNames<T>().FirstOrDefault(name => name.Equals(value, StringComparison.OrdinalIgnoreCase)) is { } name =>
            Enum.Parse<T>(name),
        var value => throw new InvalidOperationException($"{key} is '{value}'; expected {string.Join(" or ", Enum.GetNames<T>())}."),
    };

    /// <summary>The PostgreSQL connection string of the cluster topology (<c>ConnectionStrings:Stepcast</c>).</summary>
    public static string RequiredConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString(MigrateCommand.ConnectionStringName)
        ?? throw new InvalidOperationException(
            $"The cluster topology needs ConnectionStrings:{MigrateCommand.ConnectionStringName} (env ConnectionStrings__{MigrateCommand.ConnectionStringName}).");

    /// <summary>Engine services and reminder settings, without storage or clustering (tests bring their own).</summary>
    public static ISiloBuilder AddStepcastEngineServices(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddStepcastEngine(configuration);
        // Every grain's [PersistentState]: storage called in the grain's own turn, without Orleans' queue and yield.
        silo.Services.AddDirectPersistentState();
        // Only silos count: friend grains feed it, and it flushes to the scenario stats grains.
        silo.Services.AddHostedService(sp => sp.GetRequiredService<StatsCollector>());
        // Made at start rather than by the first friend, so its gauges are on /metrics from the start.
        silo.AddStartupTask((services, _) =>
        {
            services.GetRequiredService<MemoryPressure>();
            return Task.CompletedTask;
        });
        var retryPeriod = configuration.GetSection(EngineOptions.SectionName).Get<EngineOptions>()?.ReminderRetryPeriod
            ?? new EngineOptions().ReminderRetryPeriod;
        silo.Configure<ReminderOptions>(options => options.MinimumReminderPeriod = retryPeriod);
        return silo;
    }
}

public enum StepcastTopology
{
    Embedded,
    Cluster,
}

public static class StepcastTopologyExtensions
{
    public const string ConfigurationKey = "Stepcast:Topology";

    extension(StepcastTopology)
    {
        /// <summary>Reads <c>Stepcast:Topology</c>; embedded unless told otherwise.</summary>
        public static StepcastTopology From(IConfiguration configuration) =>
            Enum.TryParse<StepcastTopology>(configuration[ConfigurationKey], ignoreCase: true, out var topology)
                ? topology
                : StepcastTopology.Embedded;
    }
}
