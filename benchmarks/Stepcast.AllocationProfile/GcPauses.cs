using System.Globalization;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Analysis;

namespace Stepcast.AllocationProfile;

/// <summary>Each garbage collection's pause in a trace, by generation and kind, and the longest ones.</summary>
internal static class GcPauses
{
    public static void Print(string tracePath, int top)
    {
        using var source = new EventPipeEventSource(tracePath);
        var runtimes = new List<TraceLoadedDotNetRuntime>();
        source.NeedLoadedDotNetRuntimes();
        source.AddCallbackOnProcessStart(process => process.AddCallbackOnDotNetRuntimeLoad(runtimes.Add));
        source.Process();
        var collections = runtimes.SelectMany(runtime => runtime.GC.GCs).Where(gc => gc.PauseDurationMSec > 0).ToList();
        if (collections.Count == 0)
        {
            Console.WriteLine("no garbage collection in the trace");
            return;
        }

        var span = (collections[^1].StartRelativeMSec - collections[0].StartRelativeMSec) / 1000;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{collections.Count} collections over {span:N1} s, {collections.Sum(gc => gc.PauseDurationMSec):N0} ms paused"));
        Console.WriteLine("--- by generation and kind: count, total ms, mean ms, max ms");
        foreach (var group in collections.GroupBy(gc => $"gen{gc.Generation} {gc.Type}").OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{group.Key,-28} {group.Count(),6} {group.Sum(gc => gc.PauseDurationMSec),10:N0} {group.Average(gc => gc.PauseDurationMSec),8:N1} {group.Max(gc => gc.PauseDurationMSec),8:N1}"));
        }

        Console.WriteLine($"--- the {top} longest pauses: at s, generation, kind, reason, pause ms, heap MB after, promoted MB");
        foreach (var gc in collections.OrderByDescending(gc => gc.PauseDurationMSec).Take(top))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{gc.StartRelativeMSec / 1000,8:N1} gen{gc.Generation} {gc.Type,-16} {gc.Reason,-18} {gc.PauseDurationMSec,8:N1} {gc.HeapSizeAfterMB,8:N0} {gc.PromotedMB,8:N1}"));
        }
    }
}
