namespace Stepcast.HangfireBaseline;

/// <summary>The baseline's settings, from the <c>Baseline</c> section (environment: <c>Baseline__ChannelSecret</c>, …).</summary>
public sealed class BaselineOptions
{
    public const string SectionName = "Baseline";

    public string ChannelSecret { get; set; } = "";

    public string AccessToken { get; set; } = "";

    /// <summary>Where pushes go: LINE's API, or the fake LINE server of a load run.</summary>
    public Uri LineApiBaseUrl { get; set; } = new("https://api.line.me");

    /// <summary>Divides the 7- and 30-day waits (86,400 makes a day a second). 1: real days.</summary>
    public double WaitCompression { get; set; } = 1;

    /// <summary>Hangfire workers. Its default is 5 per core, at most 20; pushes wait on HTTP, so a team would raise it.</summary>
    public int Workers { get; set; } = 50;

    /// <summary>How often Hangfire moves due scheduled jobs to the queue. Its default is 15 s.</summary>
    public TimeSpan SchedulePollingInterval { get; set; } = TimeSpan.FromSeconds(1);
}
