using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Stepcast.LoadHarness;

/// <summary>
/// A fixed CPU workload timed before a run, printed and stored with its results: the same VM has run the same build at
/// half speed on some days (benchmarks/history.md, sessions 9 and 10), and a figure from one day can only be compared
/// with another's beside this reading. SHA-256 over 64 MB on one thread, then on every core at once (a gap between
/// the two is other work on the machine, or a host taking the cores away).
/// </summary>
public sealed record MachineSpeed(double Sha256MegabytesPerSecondOneThread, double Sha256MegabytesPerSecondAllCores, int Cores)
{
    private const int Megabytes = 64;
    private static readonly Lazy<MachineSpeed> Reading = new(Measure);

    /// <summary>The reading taken once per harness run, before any host starts.</summary>
    public static MachineSpeed Current => Reading.Value;

    public static MachineSpeed Measure()
    {
        var data = new byte[Megabytes * 1024 * 1024];
        new Random(7).NextBytes(data);
        var one = Enumerable.Range(0, 3).Min(_ => Time(() => SHA256.HashData(data)));
        var cores = Environment.ProcessorCount;
        var all = Enumerable.Range(0, 3).Min(_ => Time(() => Parallel.For(0, cores, new ParallelOptions { MaxDegreeOfParallelism = cores }, _ => SHA256.HashData(data))));
        return new MachineSpeed(Megabytes / one, Megabytes * cores / all, cores);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"machine speed: SHA-256 {Sha256MegabytesPerSecondOneThread:N0} MB/s on one thread, {Sha256MegabytesPerSecondAllCores:N0} MB/s on all {Cores} cores");

    private static double Time(Action work)
    {
        var clock = Stopwatch.StartNew();
        work();
        return clock.Elapsed.TotalSeconds;
    }
}
