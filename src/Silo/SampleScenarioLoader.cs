using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Silo;

/// <summary>
/// Publishes the scenarios found in a folder (by default <c>samples/scenarios</c>) at start, so the sandbox
/// has something to play. Files that fail validation are reported and skipped.
/// </summary>
public sealed partial class SampleScenarioLoader(IGrainFactory grains, IConfiguration configuration, TimeProvider timeProvider, ILogger<SampleScenarioLoader> logger)
    : IHostedService
{
    public const string FolderKey = "Stepcast:Sandbox:ScenarioFolder";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // A cluster publishes only what it is told to; the embedded host finds the repository's samples.
        var folder = configuration[FolderKey]
            ?? (StepcastTopology.From(configuration) == StepcastTopology.Embedded ? FindSamplesFolder() : null);
        if (folder is null || !Directory.Exists(folder))
        {
            LogNoFolder(folder ?? "samples/scenarios");
            return;
        }

        foreach (var file in Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            ScenarioDefinition definition;
            try
            {
                definition = ScenarioJson.Deserialize(await File.ReadAllTextAsync(file, cancellationToken));
            }
            catch (System.Text.Json.JsonException exception)
            {
                LogUnreadable(file, exception.Message);
                continue;
            }

            await StartupCalls.RetryAsync(() => PublishAsync(definition, file), $"publish {Path.GetFileName(file)}", timeProvider, logger, cancellationToken);
        }
    }

    private async Task PublishAsync(ScenarioDefinition definition, string file)
    {
        {
            var scenario = grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(definition.ChannelId, definition.Id));
            if (await IsCurrentVersionAsync(scenario, definition))
            {
                // Several silos start with the same folder: publishing again would only add identical versions.
                return;
            }

            var problems = await scenario.SaveDraft(definition);
            var published = problems.IsEmpty && (await scenario.Publish()).Published;
            if (published)
            {
                LogPublished(definition.Id, definition.ChannelId, Path.GetFileName(file));
            }
            else
            {
                LogInvalid(file, string.Join("; ", problems.Select(p => $"{p.Path}: {p.Message}")));
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static async Task<bool> IsCurrentVersionAsync(IScenarioGrain scenario, ScenarioDefinition definition)
    {
        var view = await scenario.Get();
        if (view is null || view.CurrentVersion == 0)
        {
            return false;
        }

        var current = await scenario.GetVersion(view.CurrentVersion);
        return current is not null && ScenarioJson.Serialize(current) == ScenarioJson.Serialize(definition);
    }

    /// <summary>Looks for samples/scenarios in the working folder and its parents (dotnet run from anywhere in the repo).</summary>
    private static string? FindSamplesFolder()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "samples", "scenarios");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    [LoggerMessage(LogLevel.Information, "Published sample scenario {ScenarioId} on channel {ChannelId} from {File}")]
    private partial void LogPublished(string scenarioId, string channelId, string file);

    [LoggerMessage(LogLevel.Warning, "Sample scenario {File} is invalid and was skipped: {Problems}")]
    private partial void LogInvalid(string file, string problems);

    [LoggerMessage(LogLevel.Warning, "Sample scenario {File} is not readable JSON: {Reason}")]
    private partial void LogUnreadable(string file, string reason);

    [LoggerMessage(LogLevel.Information, "No scenario folder found at {Folder}; starting with no scenarios")]
    private partial void LogNoFolder(string folder);
}
