using System.Globalization;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Stepcast.AllocationProfile;

/// <summary>
/// What the JIT compiled in a trace: methods by optimisation tier, and the methods compiled most often. A host that
/// still compiles a minute into a load run is either warming up (the tiers) or making new code all the time (the
/// same names over and over: dynamic methods, generic instantiations per call).
/// </summary>
internal static class JitActivity
{
    public static void Print(string tracePath, int top)
    {
        using var source = new EventPipeEventSource(tracePath);
        var loads = new List<(double At, string Tier, string Name, bool Dynamic)>();
        source.Clr.MethodLoadVerbose += data => loads.Add((
            data.TimeStampRelativeMSec,
            data.OptimizationTier.ToString(),
            $"{data.MethodNamespace}::{data.MethodName}",
            (data.MethodFlags & MethodFlags.Dynamic) != 0));
        source.Process();
        if (loads.Count == 0)
        {
            Console.WriteLine("no method loaded in the trace (it needs Microsoft-Windows-DotNETRuntime:0x10:5)");
            return;
        }

        var span = (loads[^1].At - loads[0].At) / 1000;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{loads.Count:N0} methods compiled over {span:N1} s, {loads.Count(load => load.Dynamic):N0} of them dynamic"));
        Console.WriteLine("--- by tier: count");
        foreach (var tier in loads.GroupBy(load => load.Tier).OrderByDescending(group => group.Count()))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{tier.Key,-28} {tier.Count(),8:N0}"));
        }

        Console.WriteLine($"--- the {top} names compiled most often: count, tiers, name");
        foreach (var name in loads.GroupBy(load => load.Name).OrderByDescending(group => group.Count()).Take(top))
        {
            var tiers = string.Join(",", name.Select(load => load.Tier).Distinct().Order(StringComparer.Ordinal));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name.Count(),8:N0} {tiers,-40} {Shorten(name.Key)}"));
        }
    }

    private static string Shorten(string name) => name.Length > 160 ? name[..160] + "…" : name;
}
