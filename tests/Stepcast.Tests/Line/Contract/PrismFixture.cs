using System.Collections.Concurrent;
using System.Diagnostics;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Line.Contract;

/// <summary>
/// Runs Prism mock servers for messaging-api.yml and manage-audience.yml. Prism validates each request against the
/// spec: a request that violates it gets a 4xx and an <c>sl-violations</c> header instead of a 2xx.
/// </summary>
public sealed class PrismFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartupLimit = TimeSpan.FromMinutes(2);

    private readonly List<PrismProcess> _processes = [];

    public string MessagingApiBaseUrl { get; private set; } = "";

    public string ManageAudienceBaseUrl { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (LineOpenApiSpecs.Directory is null)
        {
            return; // Every test reports itself skipped with the reason.
        }

        var prism = Path.Combine(LineOpenApiSpecs.RepositoryRoot, "tests", "contract", "node_modules", ".bin", "prism");
        if (!File.Exists(prism))
        {
            throw new InvalidOperationException(
                $"Prism is not installed ({prism} is missing). Run `npm ci --prefix tests/contract` from the repository root.");
        }

        var messaging = PrismProcess.Start(prism, LineOpenApiSpecs.Spec("messaging-api.yml"));
        _processes.Add(messaging);
        var audience = PrismProcess.Start(prism, LineOpenApiSpecs.Spec("manage-audience.yml"));
        _processes.Add(audience);
        await Task.WhenAll(messaging.WaitUntilListeningAsync(StartupLimit), audience.WaitUntilListeningAsync(StartupLimit));
        MessagingApiBaseUrl = messaging.BaseUrl;
        ManageAudienceBaseUrl = audience.BaseUrl;
    }

    public Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            process.Dispose();
        }

        return Task.CompletedTask;
    }

    private sealed class PrismProcess : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _output = new();

        private PrismProcess(Process process, int port)
        {
            _process = process;
            BaseUrl = $"http://127.0.0.1:{port}";
        }

        public string BaseUrl { get; }

        public static PrismProcess Start(string prism, string spec)
        {
            var port = LoopbackPorts.Free();
            var startInfo = new ProcessStartInfo(prism)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "mock", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-h", "127.0.0.1", spec })
            {
                startInfo.ArgumentList.Add(argument);
            }

            var process = new Process { StartInfo = startInfo };
            var prismProcess = new PrismProcess(process, port);
            process.OutputDataReceived += (_, e) => prismProcess.Keep(e.Data);
            process.ErrorDataReceived += (_, e) => prismProcess.Keep(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return prismProcess;
        }

        public async Task WaitUntilListeningAsync(TimeSpan limit)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < limit)
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"Prism exited with code {_process.ExitCode}:\n{Output()}");
                }

                try
                {
                    // Any HTTP answer (404 for "/") means Prism has loaded the spec and is listening.
                    using var response = await http.GetAsync(BaseUrl + "/");
                    return;
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException)
                {
                }

                await Task.Delay(250);
            }

            throw new InvalidOperationException($"Prism did not start listening on {BaseUrl} within {limit}:\n{Output()}");
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            _process.Dispose();
        }

        private void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }

            _output.Enqueue(line);
            while (_output.Count > 50 && _output.TryDequeue(out _))
            {
            }
        }

        private string Output() => string.Join('\n', _output);
    }
}
