using Hangfire;
using Hangfire.PostgreSql;

namespace Stepcast.HangfireBaseline;

/// <summary>
/// Hangfire as its documentation sets it up for ASP.NET Core, on PostgreSQL: the recommended serializer settings,
/// LISTEN/NOTIFY so workers see new jobs at once instead of polling the queue, and a sliding invisibility timeout.
/// </summary>
public static class BaselineHosting
{
    public static IServiceCollection AddHangfireBaseline(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(BaselineOptions.SectionName);
        services.Configure<BaselineOptions>(section);
        var options = section.Get<BaselineOptions>() ?? new BaselineOptions();
        var connectionString = configuration.GetConnectionString("Hangfire")
            ?? throw new InvalidOperationException("ConnectionStrings:Hangfire is not set.");

        services.AddHttpClient<LinePushJob>();
        services.AddHangfire(hangfire => hangfire
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UsePostgreSqlStorage(postgres => postgres.UseNpgsqlConnection(connectionString), new PostgreSqlStorageOptions
            {
                PrepareSchemaIfNecessary = true,
                EnableLongPolling = true,
                UseSlidingInvisibilityTimeout = true,
                InvisibilityTimeout = TimeSpan.FromMinutes(5),
            }));
        services.AddHangfireServer(server =>
        {
            server.WorkerCount = options.Workers;
            server.SchedulePollingInterval = options.SchedulePollingInterval;
        });
        return services;
    }
}
