using System.Collections.Immutable;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Tests.Domain;

public sealed class WaitSchedulerTests
{
    private static readonly TimeZoneInfo Tokyo = TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo");
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
    private static readonly ImmutableArray<QuietHours> Night = [new QuietHours { Start = "22:00", End = "08:00" }];

    private static WaitStep Wait(int days = 0, int hours = 0, int minutes = 0, string? at = null, ImmutableArray<QuietHours> quietHours = default) =>
        new() { Id = "wait", Days = days, Hours = hours, Minutes = minutes, At = at, QuietHours = quietHours.IsDefault ? [] : quietHours };

    private static DateTimeOffset At(string text) => DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Relative_wait_in_Tokyo_adds_days_hours_and_minutes()
    {
        var due = WaitScheduler.ComputeDue(Wait(days: 2, hours: 3, minutes: 15), At("2026-04-01T10:00:00+09:00"), Tokyo);

        Assert.Equal(At("2026-04-03T13:15:00+09:00"), due);
        Assert.Equal(TimeSpan.FromHours(9), due.Offset);
    }

    [Fact]
    public void Zero_wait_means_now()
    {
        var start = At("2026-04-01T10:00:00+09:00");

        Assert.Equal(start, WaitScheduler.ComputeDue(Wait(), start, Tokyo));
    }

    [Fact]
    public void Day_3_at_10_is_that_local_time_three_calendar_days_later()
    {
        var due = WaitScheduler.ComputeDue(Wait(days: 3, at: "10:00"), At("2026-04-01T15:20:00+09:00"), Tokyo);

        Assert.Equal(At("2026-04-04T10:00:00+09:00"), due);
    }

    [Fact]
    public void At_time_later_today_is_today()
    {
        var due = WaitScheduler.ComputeDue(Wait(at: "10:00"), At("2026-04-01T09:00:00+09:00"), Tokyo);

        Assert.Equal(At("2026-04-01T10:00:00+09:00"), due);
    }

    [Theory]
    [InlineData("2026-04-01T11:00:00+09:00")]
    [InlineData("2026-04-01T10:00:00+09:00")]
    public void At_time_already_passed_today_is_tomorrow(string start)
    {
        var due = WaitScheduler.ComputeDue(Wait(at: "10:00"), At(start), Tokyo);

        Assert.Equal(At("2026-04-02T10:00:00+09:00"), due);
    }

    [Fact]
    public void At_time_uses_the_local_date_not_the_utc_date()
    {
        // 2026-04-01T16:00Z is already April 2nd in Tokyo.
        var due = WaitScheduler.ComputeDue(Wait(days: 1, at: "09:00"), At("2026-04-01T16:00:00+00:00"), Tokyo);

        Assert.Equal(At("2026-04-03T09:00:00+09:00"), due);
    }

    [Fact]
    public void Quiet_hours_across_midnight_defer_to_the_morning()
    {
        var evening = WaitScheduler.ComputeDue(Wait(hours: 2, quietHours: Night), At("2026-04-01T21:30:00+09:00"), Tokyo);
        var earlyMorning = WaitScheduler.ComputeDue(Wait(hours: 2, quietHours: Night), At("2026-04-02T01:00:00+09:00"), Tokyo);

        Assert.Equal(At("2026-04-02T08:00:00+09:00"), evening);
        Assert.Equal(At("2026-04-02T08:00:00+09:00"), earlyMorning);
    }

    [Fact]
    public void Zero_wait_with_quiet_hours_holds_a_late_night_send_until_morning()
    {
        var due = WaitScheduler.ComputeDue(Wait(quietHours: Night), At("2026-04-01T23:10:00+09:00"), Tokyo);

        Assert.Equal(At("2026-04-02T08:00:00+09:00"), due);
    }

    [Fact]
    public void Quiet_hours_window_ending_exactly_at_due_does_not_move_it()
    {
        var due = WaitScheduler.ComputeDue(Wait(days: 1, quietHours: Night), At("2026-04-01T08:00:00+09:00"), Tokyo);

        Assert.Equal(At("2026-04-02T08:00:00+09:00"), due);
    }

    [Fact]
    public void Quiet_hours_starting_exactly_at_due_move_it()
    {
        var due = WaitScheduler.DeferOutOfQuietHours(At("2026-04-01T22:00:00+09:00"), Night, Tokyo);

        Assert.Equal(At("2026-04-02T08:00:00+09:00"), due);
    }

    [Fact]
    public void Outside_quiet_hours_nothing_moves()
    {
        var at = At("2026-04-01T12:34:00+09:00");

        Assert.Equal(at, WaitScheduler.DeferOutOfQuietHours(at, Night, Tokyo));
    }

    [Fact]
    public void Adjacent_quiet_windows_defer_through_both()
    {
        QuietHours[] windows = [new() { Start = "08:00", End = "09:30" }, new() { Start = "22:00", End = "08:00" }];

        var due = WaitScheduler.DeferOutOfQuietHours(At("2026-04-01T23:00:00+09:00"), windows, Tokyo);

        Assert.Equal(At("2026-04-02T09:30:00+09:00"), due);
    }

    [Fact]
    public void Quiet_hours_apply_to_at_waits()
    {
        var due = WaitScheduler.ComputeDue(Wait(days: 2, at: "23:00", quietHours: Night), At("2026-04-01T12:00:00+09:00"), Tokyo);

        Assert.Equal(At("2026-04-04T08:00:00+09:00"), due);
    }

    [Fact]
    public void A_day_across_the_spring_forward_keeps_the_wall_clock_time()
    {
        var start = At("2026-03-07T09:00:00-05:00");

        var due = WaitScheduler.ComputeDue(Wait(days: 1), start, NewYork);

        Assert.Equal(At("2026-03-08T09:00:00-04:00"), due);
        Assert.Equal(TimeSpan.FromHours(23), due - start);
    }

    [Fact]
    public void Hours_across_the_spring_forward_are_elapsed_time()
    {
        var due = WaitScheduler.ComputeDue(Wait(hours: 24), At("2026-03-07T09:00:00-05:00"), NewYork);

        Assert.Equal(At("2026-03-08T10:00:00-04:00"), due);
        Assert.Equal(TimeSpan.FromHours(-4), due.Offset);
    }

    [Fact]
    public void A_local_time_in_the_spring_forward_gap_moves_to_the_end_of_the_gap()
    {
        var relative = WaitScheduler.ComputeDue(Wait(days: 1), At("2026-03-07T02:30:00-05:00"), NewYork);
        var atTime = WaitScheduler.ComputeDue(Wait(days: 1, at: "02:30"), At("2026-03-07T12:00:00-05:00"), NewYork);

        Assert.Equal(At("2026-03-08T03:00:00-04:00"), relative);
        Assert.Equal(At("2026-03-08T03:00:00-04:00"), atTime);
    }

    [Fact]
    public void A_day_across_the_fall_back_keeps_the_wall_clock_time()
    {
        var start = At("2026-10-31T09:00:00-04:00");

        var due = WaitScheduler.ComputeDue(Wait(days: 1), start, NewYork);

        Assert.Equal(At("2026-11-01T09:00:00-05:00"), due);
        Assert.Equal(TimeSpan.FromHours(25), due - start);
    }

    [Fact]
    public void An_ambiguous_local_time_in_the_fall_back_takes_the_earlier_instant()
    {
        var due = WaitScheduler.ComputeDue(Wait(days: 1), At("2026-10-31T01:30:00-04:00"), NewYork);

        Assert.Equal(At("2026-11-01T01:30:00-04:00"), due);
    }

    [Fact]
    public void Minutes_during_the_repeated_hour_are_not_pulled_back_an_hour()
    {
        var due = WaitScheduler.ComputeDue(Wait(minutes: 10), At("2026-11-01T01:30:00-05:00"), NewYork);

        Assert.Equal(At("2026-11-01T01:40:00-05:00"), due);
    }

    [Fact]
    public void Quiet_hours_ending_in_the_repeated_hour_end_at_its_second_run_when_deferred_from_it()
    {
        QuietHours[] windows = [new() { Start = "00:00", End = "01:30" }];

        var firstRun = WaitScheduler.DeferOutOfQuietHours(At("2026-11-01T01:15:00-04:00"), windows, NewYork);
        var secondRun = WaitScheduler.DeferOutOfQuietHours(At("2026-11-01T01:15:00-05:00"), windows, NewYork);

        Assert.Equal(At("2026-11-01T01:30:00-04:00"), firstRun);
        Assert.Equal(At("2026-11-01T01:30:00-05:00"), secondRun);
    }

    [Fact]
    public void Timeout_counts_days_as_calendar_days()
    {
        var timeout = WaitScheduler.TimeoutAt(new Duration { Days = 3, Hours = 1 }, At("2026-03-06T20:00:00-05:00"), NewYork);

        Assert.Equal(At("2026-03-09T21:00:00-04:00"), timeout);
    }

    [Theory]
    [InlineData("00:00", 0, 0)]
    [InlineData("23:59", 23, 59)]
    [InlineData("08:05", 8, 5)]
    public void Hh_mm_times_parse(string text, int hour, int minute)
    {
        Assert.True(TimeOfDay.TryParseHhMm(text, out var time));
        Assert.Equal(new TimeOnly(hour, minute), time);
    }

    [Theory]
    [InlineData("24:00")]
    [InlineData("9:00")]
    [InlineData("09:60")]
    [InlineData("0900")]
    [InlineData("09:00 ")]
    [InlineData("０９:００")]
    [InlineData("")]
    [InlineData(null)]
    public void Malformed_times_do_not_parse(string? text)
    {
        Assert.False(TimeOfDay.TryParseHhMm(text, out _));
    }
}
