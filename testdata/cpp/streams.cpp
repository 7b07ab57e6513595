// streams.cpp: C++ through libc++ on wasm32-wasi (built with -fno-exceptions;
// libc++ 14 for WASI has no std::filesystem, so directories are listed with
// POSIX's dirent, which wasi-libc provides, and there is no <thread>). Reads words from std::cin,
// counts them in a std::map, writes and reads back a file with fstream,
// lists the directory named by its first argument, then exits with status
// 3; isle must print testdata/cpp/streams.out and exit 3.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <time.h>
#include <vector>

int main(int argc, char **argv) {
	if (argc < 2) {
		std::cerr << "usage: streams DIR\n";
		return 2;
	}
	std::string dir = argv[1];
	std::map<std::string, int> counts;
	std::string w;
	while (std::cin >> w)
		counts[w]++;
	for (const auto &[word, n] : counts)
		std::cout << word << " " << n << "\n";

	{
		std::ofstream out(dir + "/numbers.txt");
		for (int i = 1; i <= 5; i++)
			out << i * i << "\n";
	}
	std::ifstream in(dir + "/numbers.txt");
	long sum = 0;
	for (long v; in >> v;)
		sum += v;
	std::cout << "sum of squares " << sum << "\n";

	std::ofstream app(dir + "/numbers.txt", std::ios::app);
	app << "36\n";
	app.close();
	std::ifstream again(dir + "/numbers.txt", std::ios::ate);
	std::cout << "file size " << again.tellg() << "\n";
	again.seekg(-3, std::ios::end);
	std::string last;
	std::getline(again, last);
	std::cout << "last line " << last << "\n";

	mkdir((dir + "/sub").c_str(), 0755);
	std::vector<std::string> names;
	if (DIR *d = opendir(dir.c_str())) {
		while (struct dirent *e = readdir(d))
			names.push_back(e->d_name);
		closedir(d);
	}
	std::sort(names.begin(), names.end());
	std::ostringstream joined;
	for (const auto &n : names)
		joined << n << (n == names.back() ? "" : ",");
	std::cout << "listing " << joined.str() << "\n";

	auto t0 = std::chrono::steady_clock::now();
	struct timespec ts = {0, 20 * 1000 * 1000}; // <thread> is not in single-threaded wasm32-wasi
	nanosleep(&ts, nullptr);
	std::cout << "slept " << (std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(20) ? "enough" : "too little") << "\n";
	std::cout.flush();
	std::exit(3);
}
