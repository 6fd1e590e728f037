using BenchmarkDotNet.Attributes;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Benchmarks;

/// <summary>Due times of wait steps, computed each time a run reaches a wait, in a zone without and with DST.</summary>
[MemoryDiagnoser]
public class WaitSchedulerBenchmarks
{
    private static readonly WaitStep ThreeDays = new() { Id = "day-3", Days = 3 };
    private static readonly WaitStep NextDayAtTen = new() { Id = "next-morning", Days = 1, At = "10:00" };

    // Two hours after a 21:30 start lands at 23:30, inside quiet hours that cross midnight: deferred to 08:00.
    private static readonly WaitStep TwoHoursOutsideQuietHours = new()
    {
        Id = "later-today", Hours = 2, QuietHours = [new QuietHours { Start = "22:00", End = "08:00" }],
    };

    private TimeZoneInfo _zone = null!;
    private DateTimeOffset _startedAt;

    [Params("Asia/Tokyo", "America/New_York")]
    public string TimeZone { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _zone = TimeZones.Get(TimeZone);
        // 21:30 local on a Sunday in November; in New York three weeks after the fall-back change.
        _startedAt = WaitScheduler.ResolveLocal(new DateTime(2026, 11, 22, 21, 30, 0), _zone);

        var deferred = TimeZoneInfo.ConvertTime(WaitScheduler.ComputeDue(TwoHoursOutsideQuietHours, _startedAt, _zone), _zone);
        if (deferred.Hour != 8 || deferred.Minute != 0 || deferred.Day != 23)
        {
            throw new InvalidOperationException($"Expected 08:00 the next day, got {deferred:O}.");
        }
    }

    [Benchmark]
    public DateTimeOffset RelativeDays() => WaitScheduler.ComputeDue(ThreeDays, _startedAt, _zone);

    [Benchmark]
    public DateTimeOffset AtTimeOfDay() => WaitScheduler.ComputeDue(NextDayAtTen, _startedAt, _zone);

    [Benchmark]
    public DateTimeOffset QuietHoursAcrossMidnight() => WaitScheduler.ComputeDue(TwoHoursOutsideQuietHours, _startedAt, _zone);
}
