// Child process of the pool shutdown test: opens and closes a memory-only store with two worker
// threads again and again, each close coming while the workers may still be loading their task
// file, and prints how many rounds it survived. A crash there aborts the process (SIGABRT),
// which is why this runs apart from the test runner.
import { LocalChat } from '../../server/store/local-chat.js';

const rounds = Number(process.argv[2] ?? 100);
for (let round = 0; round < rounds; round++) {
  const chat = await LocalChat.open({ dataDir: null, capacity: 1024, arenaBytes: 1 << 20, workers: 2, rateLimit: 0 });
  // Vary the moment of the close across the workers' start-up.
  await new Promise((resolve) => setTimeout(resolve, round % 20));
  await chat.close();
}
console.log(`survived ${rounds}`);
